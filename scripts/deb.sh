#!/bin/sh
# Builds the Debian package of ensign with dpkg-deb: build/ensign_VERSION_ARCH.deb.
# The files are those of `make install PREFIX=/usr` (the unit in /lib/systemd/system, the
# configuration in /etc/ensign as a conffile); Depends comes from dpkg-shlibdeps. Needs dpkg-dev.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
version=$(sed -n 's/^#define ENS_CLI_VERSION "\(.*\)"/\1/p' src/cli/cli.h)
arch=$(dpkg --print-architecture)
stage=$B/deb/ensign_${version}_$arch
rm -rf "$B/deb"
mkdir -p "$stage/DEBIAN"
make -s install DESTDIR="$PWD/$stage" PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system \
    B="$B" >/dev/null
strip --strip-unneeded "$stage/usr/bin/ensign"
gzip -9n "$stage/usr/share/man/man1/ensign.1" "$stage/usr/share/man/man5/ensign.conf.5"
# Depends: what the program links, as dpkg-shlibdeps finds it (it wants a debian/control)
shl=$B/deb/shlibs
mkdir -p "$shl/debian"
printf 'Source: ensign\n\nPackage: ensign\nArchitecture: any\n' > "$shl/debian/control"
depends=$(cd "$shl" && dpkg-shlibdeps -O -e "$OLDPWD/$stage/usr/bin/ensign" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" dist/debian/control.in > "$stage/DEBIAN/control"
install -m 0644 dist/debian/conffiles "$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
    install -m 0755 "dist/debian/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
    xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$B/ensign_${version}_$arch.deb" >/dev/null
echo "deb: $B/ensign_${version}_$arch.deb"
