#!/usr/bin/env bash
# Headless browser for the web-page tests (tests/test_serve_browser.py, tests/test_report.py):
# Debian's Chromium and ChromeDriver. Playwright drives /usr/bin/chromium directly, so no browser
# is downloaded. Does nothing when /usr/bin/chromium is already there.
#
# Installs only what Chromium needs (--no-install-recommends: no systemd, avahi, samba or printing
# libraries), upgrades no installed package it was not asked to (--no-upgrade), and says first
# which packages it installs and which installed ones a dependency makes it upgrade.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
packages=(chromium chromium-driver)
$sudo apt-get update -q
plan=$(apt-get install -s -y -q --no-install-recommends --no-upgrade "${packages[@]}" | grep '^Inst ' || true)
new=$(printf '%s\n' "$plan" | grep -vc '\[' || true)
upgrades=$(printf '%s\n' "$plan" | grep '\[' | awk '{print $2}' | tr '\n' ' ' || true)
echo "install_browser.sh: installing ${packages[*]} ($new new Debian packages, no recommends)"
if [ -n "$upgrades" ]; then
  echo "install_browser.sh: a dependency needs newer versions of installed packages: $upgrades"
fi
$sudo apt-get install -y -q --no-install-recommends --no-upgrade "${packages[@]}"
