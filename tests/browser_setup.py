"""Make sure Debian's Chromium is present for the browser tests (Playwright drives it with
``executable_path``; Playwright's own browser download cannot work offline).

Run by `make test` before pytest. Idempotent: does nothing when /usr/bin/chromium exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> int:
    if os.path.exists(CHROMIUM):
        return 0
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"browser_setup: {CHROMIUM} missing and apt-get not usable; browser tests will skip", file=sys.stderr)
        return 0
    print("browser_setup: installing Debian's chromium (once)...", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
    return result.returncode


if __name__ == "__main__":
    sys.exit(ensure_chromium())
