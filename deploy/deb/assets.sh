#!/bin/sh
# Writes the generated files of the Debian package into target/deb-assets/,
# where the assets and systemd-units of [package.metadata.deb] in
# Cargo.toml pick them up:
#
#   cargo build --release
#   sh deploy/deb/assets.sh                # or: sh deploy/deb/assets.sh PATH/TO/staticd
#   cargo deb --no-build                   # target/debian/staticd_VERSION-1_ARCH.deb
#
# BINARY defaults to the release binary: ${CARGO_TARGET_DIR:-target}/release/staticd.
# What it writes, all made from that binary or from deploy/systemd/:
#
#   staticd.1.gz                  staticd --generate man, gzipped (Debian Policy 12.1)
#   staticd.bash, _staticd,       staticd --generate bash|zsh|fish
#   staticd.fish
#   staticd.service               deploy/systemd/staticd.service with ExecStart=
#                                 naming /usr/bin/staticd, where the package puts it
#   staticd.socket                deploy/systemd/staticd.socket as it is
#
# The directory is target/deb-assets/ in the checkout whatever
# CARGO_TARGET_DIR says: cargo-deb reads systemd-units' unit-scripts
# relative to the package root and rewrites only target/release/ paths to
# the real target dir, so a fixed path is the one both can name. /target is
# in .gitignore. The directory is made anew on each run, so no stale file
# can be packaged.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$root/target}/release/staticd}
out=$root/target/deb-assets

if [ ! -x "$bin" ]; then
    echo "assets.sh: no staticd binary at $bin (cargo build --release first)" >&2
    exit 1
fi

rm -rf "$out"
mkdir -p "$out"

# Each file is written before it is checked: in a pipeline, sh would only
# see gzip's exit status, not staticd's.
"$bin" --generate man >"$out/staticd.1"
"$bin" --generate bash >"$out/staticd.bash"
"$bin" --generate zsh >"$out/_staticd"
"$bin" --generate fish >"$out/staticd.fish"
for file in staticd.1 staticd.bash _staticd staticd.fish; do
    if [ ! -s "$out/$file" ]; then
        echo "assets.sh: $bin wrote an empty $file" >&2
        exit 1
    fi
done
# -n: no name or time stamp in the header, so the same page gives the same bytes.
gzip -9 -n "$out/staticd.1"

# The unit as shipped runs /usr/local/bin/staticd (a manual install); the
# package's binary is /usr/bin/staticd. One source unit, rewritten here,
# rather than two copies that could drift apart.
unit=$root/deploy/systemd/staticd.service
from='ExecStart=/usr/local/bin/staticd '
to='ExecStart=/usr/bin/staticd '
if [ "$(grep -c "^$from" "$unit")" != 1 ]; then
    echo "assets.sh: $unit has no single '$from...' line to rewrite" >&2
    exit 1
fi
{
    echo "# Installed by the staticd Debian package: deploy/systemd/staticd.service"
    echo "# with ExecStart= naming /usr/bin/staticd. The package did the install"
    echo "# steps below; what is left is \`systemctl enable --now staticd\`. Change"
    echo "# settings with a drop-in (systemctl edit staticd), which upgrades keep."
    sed "s|^$from|$to|" "$unit"
} >"$out/staticd.service"
cp "$root/deploy/systemd/staticd.socket" "$out/staticd.socket"

echo "assets.sh: wrote $(cd "$out" && echo *) in $out"
