"""Benchmark composing, signing and sending: ``python bench/compose.py [--n 300] [--rounds 5] [--sends 600]``.

The worker's path from rendered strings to a message the relay accepted, stage by stage, on N real
digests (10 papers each, with vote links, rendered once beforehand as bench/render.py renders them):

  fields   ``message.check_fields`` (header values checked, the recipient validated)
  wire     ``wire.render``: headers and the two bodies to bytes (7bit, 8bit or quoted-printable)
  sign     ``DkimSigner.sign`` (RSA-2048 through OpenSSL; the RSA operation alone printed apart)
  compose  ``Composer.compose`` (the three above, as a worker calls it)
  send     ``send_through_breaker`` + ``SmtpBackend`` to the lean sink (bench/_smtp_sink_process.py,
           in its own process, PIPELINING and 8BITMIME announced), one persistent connection
  bare     plain ``smtplib.SMTP.sendmail`` of the same signed bytes over one connection: what
           bench/e2e.py compares the whole pipeline with

Each figure is CPU time of this process per message (the sink's CPU is not in it), the best of
``--rounds`` rounds, the rounds of every stage interleaved so that they all see the same machine.
``--relay-7bit`` composes as for a relay that does not announce 8BITMIME.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import smtplib
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.e2e import Sink
from bench.render import encodings, load_papers, make_digest, with_votes
from config.settings import Settings
from service.mail import Composer, DkimSigner, OutgoingMail, SmtpBackend, Unsubscribe
from service.mail.breaker import LocalBreaker, Policy, send_through_breaker
from service.mail.dkim_keys import generate_key
from service.mail.message import MessageArgs, SenderIdentity, check_fields
from service.mail.send_rate import LocalRateLimiter
from service.mail.signing import SigningKey
from service.mail.wire import SenderLines, render
from service.rendering import EmailRenderer, render_digest

Stage = tuple[str, Callable[[int], object], int]  # (name, call with a message index, calls per round)


def cpu_per_call(stages: Sequence[Stage], rounds: int) -> dict[str, float]:
    """CPU seconds per call of each stage, best of ROUNDS; round r of every stage runs before r+1."""
    best = {name: float("inf") for name, _, _ in stages}
    for _, call, _ in stages:
        call(0)  # warm: caches, first-call imports, the connection
    for _ in range(rounds):
        for name, call, count in stages:
            started = time.process_time()
            for i in range(count):
                call(i)
            best[name] = min(best[name], (time.process_time() - started) / count)
    return best


def digest_args(n: int, seed: int = 1, saved: Path | None = None) -> list[MessageArgs]:
    """N real digests' compose arguments, as service/digests/deliver.py passes them. With SAVED,
    read from that JSON file if it exists, else written to it: two trees then compose the same."""
    if saved is not None and saved.exists():
        return [MessageArgs(**{**m, "unsubscribe": Unsubscribe(*m["unsubscribe"])})  # type: ignore[typeddict-item]
                for m in json.loads(saved.read_text())[:n]]
    rng = random.Random(seed)
    papers, renderer = load_papers(rng), EmailRenderer()
    out: list[MessageArgs] = []
    for i in range(n):
        ctx = with_votes(make_digest(i, papers, rng))
        rendered = render_digest(ctx, renderer)
        out.append(MessageArgs(
            to_address=ctx.recipient, subject=rendered.subject, text=rendered.text, html=rendered.html,
            message_key=str(i), delivery_id=i,
            unsubscribe=Unsubscribe(ctx.links.unsubscribe_url, ctx.links.unsubscribe_token),
        ))  # fmt: skip
    if saved is not None:
        saved.write_text(json.dumps([{**m, "unsubscribe": astuple(m["unsubscribe"])}  # type: ignore[arg-type]
                                     for m in out]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="distinct digests")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sends", type=int, default=600, help="messages sent per round (send and bare)")
    parser.add_argument("--args", type=Path, help="JSON file the digests are read from or written to")
    parser.add_argument("--relay-7bit", action="store_true", help="compose for a relay without 8BITMIME")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=Path(tmp),
            mail_from="papermail <digest@papermail.example>", base_url="https://papermail.example",
        )  # fmt: skip
        sender = SenderIdentity.from_settings(settings)
    key = generate_key("rsa", 2048)
    assert isinstance(key, rsa.RSAPrivateKey)
    signer = DkimSigner("papermail.example", [SigningKey("s1", key)])
    eight_bit = not args.relay_7bit
    composer = Composer(sender, signer, takes_8bit=lambda: eight_bit)
    lines = SenderLines.of(sender)
    messages = digest_args(args.n, saved=args.args)
    n = len(messages)
    fields = [check_fields(sender, **m) for m in messages]
    unsigned = [render(lines, f, eight_bit=eight_bit) for f in fields]
    mails: list[OutgoingMail] = [composer.compose(**m) for m in messages]
    signed_input = signer.signature_header(unsigned[0])[:1500]  # about what the RSA step signs

    sink = Sink("lean")
    try:
        backend = SmtpBackend(host="127.0.0.1", port=sink.port, breaker=LocalBreaker(Policy()))
        limiter = LocalRateLimiter(1e9)
        bare = smtplib.SMTP("127.0.0.1", sink.port)
        bare.ehlo()

        def send(i: int) -> Any:
            mail = mails[i % n]
            return send_through_breaker(backend, limiter, mail.envelope_from, mail.to, mail.data, lambda: True)

        def push(i: int) -> Any:
            mail = mails[i % n]
            return bare.sendmail(mail.envelope_from, [mail.to], mail.data)

        best = cpu_per_call([
            ("fields", lambda i: check_fields(sender, **messages[i % n]), n),
            ("wire", lambda i: render(lines, fields[i % n], eight_bit=eight_bit), n),
            ("sign", lambda i: signer.sign(unsigned[i % n]), n),
            ("rsa", lambda i: key.sign(signed_input, padding.PKCS1v15(), hashes.SHA256()), n),
            ("compose", lambda i: composer.compose(**messages[i % n]), n),
            ("send", send, args.sends),
            ("bare", push, args.sends),
        ], args.rounds)  # fmt: skip
        bare.quit()
        backend.close()
        received = sink.ask("count")[0]
    finally:
        sink.close()

    kinds = Counter(encodings(m.data.partition(b"\r\n\r\n")[2]) for m in mails)  # the parts: text, html
    size = sum(len(m.data) for m in mails) / n / 1024
    print(f"{n} real digests (10 papers, vote links), message {size:.1f} KB avg; bodies: "
          + ", ".join(f"{k} x{v}" for k, v in kinds.most_common())
          + f"; relay {'without' if args.relay_7bit else 'with'} 8BITMIME; sink received {received}")
    print(f"CPU per message, best of {args.rounds} interleaved rounds:")
    us = {name: 1e6 * seconds for name, seconds in best.items()}
    print(f"  fields (check_fields)    {us['fields']:7.1f} us")
    print(f"  wire (render to bytes)   {us['wire']:7.1f} us")
    print(f"  sign (DKIM, RSA-2048)    {us['sign']:7.1f} us   of which the RSA operation {us['rsa']:.1f} us")
    print(f"  compose (all three)      {us['compose']:7.1f} us")
    print(f"  send (breaker + backend) {us['send']:7.1f} us   bare smtplib sendmail {us['bare']:.1f} us")
    print(f"  compose + send           {us['compose'] + us['send']:7.1f} us   (target <= 900 us)")


if __name__ == "__main__":
    main()
