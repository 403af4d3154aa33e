"""Inbound mail: what comes back to papermail, and what it does about it.

Three kinds of message arrive at two addresses: delivery status notifications (RFC 3464, and the
non-standard bounces flufl.bounce reads) and ARF complaints (RFC 5965) at the per-delivery VERP
bounce address ``bounces+TOKEN@BOUNCE_DOMAIN`` (the digests' SMTP MAIL FROM), and RFC 8058's
mailto unsubscribe at ``unsubscribe@<MAIL_FROM's domain>``.

- ``verp``: the signed bounce addresses, made for outgoing mail and read back;
- ``addresses``: which recipients the receiver accepts;
- ``reports``: reading DSN and ARF reports out of a parsed message (pure);
- ``classify``: a message's bytes to one ``InboundOutcome`` (pure);
- ``process``: an outcome applied through ``service.actions.inbound``, in one transaction;
- ``receiver``: the aiosmtpd SMTP/LMTP server of ``papermail inbound``;
- ``imap``: polling a provider's mailbox (``papermail inbound --imap``).

This module imports nothing: ``service.mail`` imports ``service.inbound.verp`` to make the
envelope sender, and the rest of the package imports mail and storage code.
"""
