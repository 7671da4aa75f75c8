#!/usr/bin/env bash
# Installs zsh and fish (Debian packages, ~10 MB) when missing, so the CLI test
# `completion_scripts_parse_and_know_the_commands` checks the generated completion scripts with
# `zsh -n` and `fish -n` as well as `bash -n`. Needs root or sudo; does nothing when both exist.
set -euo pipefail
missing=()
for shell in zsh fish; do
    command -v "$shell" >/dev/null || missing+=("$shell")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "completion-shells: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
