#!/usr/bin/env bash
# Installs the Debian packages behind the built-in corpora (needs root):
#   wordnet-base             -> wordnet   (glosses -> supersense)
#   fortunes, fortunes-min   -> fortunes  (fortune cookies -> category)
#   sword-text-kjv/web/sparv -> bible     (verse-aligned KJV, WEB, Reina-Valera 1909; translation and matching)
#   dataset-fashion-mnist    -> scenes, clips, cluttered (the vision recipes' items)
# and downloads apt's English long descriptions for the debian corpus (package description -> section).
# Docker images set Acquire::Languages "none", which leaves those descriptions out, and any later plain
# `apt-get update` deletes them again, so every update here asks for them explicitly.
set -euo pipefail
PACKAGES=(wordnet-base fortunes fortunes-min sword-text-kjv sword-text-web sword-text-sparv dataset-fashion-mnist)
if [ "$(id -u)" != 0 ]; then
  echo "install_corpora.sh must run as root (it calls apt-get). Run: sudo bash $0" >&2
  echo "or ask an administrator to run: apt-get update -o Acquire::Languages=en && apt-get install -y ${PACKAGES[*]}" >&2
  exit 1
fi
APT_OPTS=(-o Acquire::Languages=en)
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null \
    || ! compgen -G "/var/lib/apt/lists/*_i18n_Translation-en*" >/dev/null; then
  apt-get "${APT_OPTS[@]}" update
fi
if ! apt-get "${APT_OPTS[@]}" install -y "${PACKAGES[@]}"; then
  # stale package lists (a package moved to a new version): refresh once and retry
  apt-get "${APT_OPTS[@]}" update
  apt-get "${APT_OPTS[@]}" install -y "${PACKAGES[@]}"
fi
echo "corpora installed: wordnet (/usr/share/wordnet), fortunes (/usr/share/games/fortunes), bible (/usr/share/sword),"
echo "fashion-mnist (/usr/share/datasets/fashion-mnist),"
echo "debian descriptions ($(ls /var/lib/apt/lists/*_i18n_Translation-en* | wc -l) Translation-en lists)"
