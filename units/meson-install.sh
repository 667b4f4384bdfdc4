#!/bin/sh
# Run by `meson install` (units/meson.build) after the files are in place: creates the static
# masd user and masd's directories (/var/lib/masd, /etc/masd) from the sysusers.d and tmpfiles.d
# snippets just installed, as a package's postinst would. Does nothing for a staged install
# (DESTDIR: the machine that gets the files runs the two commands below) or for a user other
# than root.
#
#   meson-install.sh SYSUSERS-FILE TMPFILES-FILE
set -eu
sysusers=$1
tmpfiles=$2
how="systemd-sysusers $sysusers && systemd-tmpfiles --create $tmpfiles"
if [ -n "${DESTDIR:-}" ] || [ "${MESON_INSTALL_DESTDIR_PREFIX:-}" != "${MESON_INSTALL_PREFIX:-}" ]; then
    echo "masd: staged install (DESTDIR): on the target machine run: $how"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "masd: not root: the masd user and /var/lib/masd are not created; as root run: $how"
    exit 0
fi
if ! command -v systemd-sysusers >/dev/null || ! command -v systemd-tmpfiles >/dev/null; then
    echo "masd: systemd-sysusers or systemd-tmpfiles not found (apt-get install systemd), then run: $how" >&2
    exit 1
fi
echo "masd: creating the masd user and masd's directories: $how"
systemd-sysusers "$sysusers"
systemd-tmpfiles --create "$tmpfiles"
