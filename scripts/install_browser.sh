#!/usr/bin/env bash
# Headless browser for the web-page test (tests/test_serve_browser.py): Debian's Chromium and
# ChromeDriver. Playwright drives /usr/bin/chromium directly, so no browser is downloaded.
# Does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q chromium chromium-driver
