"""Every change of durable state that an operator or a reader causes: one function each.

An action validates its input, writes the change and adds its audit row
(``service.admin.audit.record``) in the same transaction. This package is the only caller of
``audit.record`` (tests/service/actions/test_audit_only_in_actions.py fails otherwise): the
admin pages, the API, the CLI, the bounce webhook, the public pages and the workers call these
functions and never write the audit log themselves. The rules of each change stay where the
domain keeps them (``service.subscribers.lifecycle``, ``service.subscribers.store`` ...);
an action is the one door to them.

Transactions: an action works in the Session it is given and never commits. The caller commits
(``session_scope``) and only then does the irrevocable thing the action handed back — a ``Mail``
to dispatch, outbox files to delete, a batch to enqueue. A refused action raises before it has
written anything the caller would have to undo. The one exception is
``subscribers.do_import_subscribers``, a run of many transactions (one per batch of rows), which
takes Settings and commits each batch itself.

Actors, as the audit log names them: the admin's address for a signed-in admin, ``api:<token
name>``, ``cli``, ``webhook:<format>``, ``inbound:<smtp|lmtp|imap>`` (mail that came back),
``system`` (the digest workers), and ``subscriber:<id>`` (``votes.subscriber_actor``) for a reader
acting on their own subscription through a link — never a reader's address, so that an erase can
scrub everything that names the person.

Names are verbs saying what happens (``add_subscriber``, ``change_subscriber_status``,
``retry_delivery``); ``note_*`` records an event that changes no row. A domain helper an action
wraps keeps a different name (``store.create_subscriber``, ``erase.scrub_personal_data``), so
one name means one thing.

One row per change: an action that finds nothing to change (already paused, a throttled mail)
writes no row. An admin event that changes no row (login, logout, export, ingest now, a test
digest, a resent confirmation) is recorded as an event, with no before/after.

Modules: ``subscribers`` (what an operator does to subscribers), ``readers`` (what a reader does
to their own subscription), ``votes`` and ``seeds`` (a reader's 👍/👎 and "more like these"),
``bounces``, ``inbound`` (bounces, complaints and mailto unsubscribes read from inbound mail),
``topics``, ``sources``, ``deliveries``, ``admin`` (admin accounts, sign-ins, API tokens).
"""
