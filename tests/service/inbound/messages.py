"""Hand-made inbound messages, shaped as real MTAs and feedback loops write them: a Postfix DSN
(RFC 3464), an ARF complaint (RFC 5965), a qmail bounce (QSBMF, no DSN), a Gmail delay warning,
and the mail a client sends for a List-Unsubscribe mailto."""

from __future__ import annotations

from urllib.parse import quote

CRLF = "\r\n"


def _lines(text: str) -> bytes:
    return CRLF.join(text.split("\n")).encode()


def original_headers(to: str = "alice@example.org", unsubscribe_token: str | None = None) -> str:
    """The header of a digest as it went out (what a report returns)."""
    lines = [
        "From: Papermail Digest <digest@papermail.test>",
        f"To: {to}",
        "Subject: 3 trending papers - Nov 27",
        "Message-ID: <digest.7.abc@papermail.test>",
    ]
    if unsubscribe_token is not None:
        lines.append(f"List-Unsubscribe: <https://papermail.test/unsubscribe/{unsubscribe_token}>,")
        lines.append(f" <mailto:unsubscribe@papermail.test?subject={quote('unsubscribe-' + unsubscribe_token)}>")
    return "\n".join(lines)


def dsn(to: str, final_recipient: str = "alice@example.org", *, status: str = "5.1.1", action: str = "failed",
        diagnostic: str = "smtp; 550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown",
        returned: str | None = None) -> bytes:
    returned = returned if returned is not None else original_headers(final_recipient)
    return _lines(f"""Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Date: Fri, 27 Nov 2026 08:05:00 +0000
Message-ID: <20261127080500.4F1A2B@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="4F1A2B.1796121303/mx.example.net"

This is a MIME-encapsulated message.

--4F1A2B.1796121303/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--4F1A2B.1796121303/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4F1A2B
Arrival-Date: Fri, 27 Nov 2026 08:00:01 +0000 (UTC)

Final-Recipient: rfc822; {final_recipient}
Original-Recipient: rfc822;{final_recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: {diagnostic}

--4F1A2B.1796121303/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{returned}

--4F1A2B.1796121303/mx.example.net--
""")


def arf(to: str, *, original_rcpt_to: str | None = "alice@example.org", original_mail_from: str | None = None,
        feedback_type: str = "abuse", returned: str | None = None) -> bytes:
    fields = [f"Feedback-Type: {feedback_type}", "User-Agent: ExampleFBL/1.0", "Version: 1"]
    if original_mail_from:
        fields.append(f"Original-Mail-From: <{original_mail_from}>")
    if original_rcpt_to:
        fields.append(f"Original-Rcpt-To: <{original_rcpt_to}>")
    fields.append("Arrival-Date: Fri, 27 Nov 2026 08:00:02 +0000")
    fields.append("Reported-Domain: papermail.test")
    returned = returned if returned is not None else original_headers(original_rcpt_to or "alice@example.org")
    report = "\n".join(fields)
    return _lines(f"""From: <feedback@fbl.example.net>
To: {to}
Subject: FW: 3 trending papers - Nov 27
Date: Fri, 27 Nov 2026 09:00:00 +0000
Message-ID: <fbl.1@fbl.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Fri, 27 Nov 2026 08:00:02 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

{report}

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

{returned}

Three trending papers.

--part1_13d.2e68ed54_boundary--
""")


def qmail_bounce(to: str, address: str = "alice@example.org") -> bytes:
    return _lines(f"""From: MAILER-DAEMON@mx.example.net
To: {to}
Subject: failure notice
Date: Fri, 27 Nov 2026 08:05:00 +0000

Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{address}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

From: Papermail Digest <digest@papermail.test>
Subject: 3 trending papers - Nov 27
""")


def gmail_delay_warning(to: str, address: str = "alice@example.org") -> bytes:
    return _lines(f"""From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {to}
Subject: Delivery Status Notification (Delay)
Date: Fri, 27 Nov 2026 12:05:00 +0000

This is an automatically generated Delivery Status Notification

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipient has been delayed:

     {address}

Message will be retried for 2 more day(s)
""")


def unsubscribe_mail(token: str, to: str = "unsubscribe@papermail.test", sender: str = "alice@example.org") -> bytes:
    return _lines(f"""From: Alice <{sender}>
To: {to}
Subject: unsubscribe-{token}
Date: Fri, 27 Nov 2026 10:00:00 +0000
Message-ID: <mailto.1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

This message was sent by your mail client to unsubscribe.
""")


def plain_mail(to: str, subject: str = "Thanks for the digest!") -> bytes:
    return _lines(f"""From: Alice <alice@example.org>
To: {to}
Subject: {subject}
Date: Fri, 27 Nov 2026 10:00:00 +0000

Loved today's papers.
""")
