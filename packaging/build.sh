#!/bin/sh
# packaging/build.sh VERSION [deb] [rpm] [image]
#
# Builds vigil's static binaries and packs them into dist/: a .deb and an
# .rpm by default (nfpm, pinned in packaging/go.mod), and with "image" a
# container image (packaging/Dockerfile) tagged $VIGIL_IMAGE, default
# vigil:<version>. VERSION is what `git describe` gives (v1.2.0,
# v1.2.0-3-gabc1234-dirty, abc1234); it is turned into a version both dpkg
# and rpm accept. DIST overrides the output directory.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
raw_version=${1:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
[ $# -gt 0 ] && shift
targets=${*:-deb rpm}
dist=${DIST:-$root/dist}
stage=$dist/stage

# dpkg wants a leading digit, rpm forbids "-": v1.2.0-3-gabc1234-dirty
# becomes 1.2.0.3.gabc1234.dirty; an untagged abc1234 becomes 0.0.0~git.abc1234
# ("~" sorts before any release).
v=${raw_version#v}
case "$v" in
    [0-9]*.[0-9]*) ;;
    *) v="0.0.0~git.$v" ;;
esac
version=$(printf '%s' "$v" | tr -- '-' '.')

arch=${GOARCH:-$(go env GOARCH)}
# nfpm stamps every file with SOURCE_DATE_EPOCH: the commit's time makes the
# packages of one commit byte-identical.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
ldflags="-s -w -X github.com/vigil-monitoring/vigil/plugins/plugin.Version=$raw_version"

rm -rf "$stage"
mkdir -p "$stage/plugins" "$stage/sbin"
echo "building plugins ($raw_version, $arch)"
(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "$ldflags" \
    -o "$stage/plugins/" ./plugins/cmd/...)
# monitoring-plugins-basic owns /usr/lib/nagios/plugins/check_host (check_icmp).
mv "$stage/plugins/check_host" "$stage/plugins/check_vigil_host"

echo "building vigil-agent"
(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "$ldflags" \
    -o "$stage/sbin/vigil-agent" ./agent/cmd/vigil-agent)
install -m 0755 "$root/configs/nagios/vigil-heal-event-handler.sh" "$stage/plugins/vigil-heal-event-handler"
cp "$root/packaging/nfpm.yaml" "$stage/nfpm.yaml"

for target in $targets; do
    case "$target" in
    deb|rpm)
        echo "packing $target $version"
        (cd "$root/packaging" && VIGIL_STAGE=$stage VIGIL_VERSION=$version VIGIL_ARCH=$arch \
            go run github.com/goreleaser/nfpm/v2/cmd/nfpm package \
            --config "$stage/nfpm.yaml" --packager "$target" --target "$dist/")
        ;;
    image)
        # No base image can be pulled, so the image is FROM scratch and the
        # binaries are built here, on the host, not in a golang build stage.
        ctx=$dist/image
        rm -rf "$ctx"
        mkdir -p "$ctx/rootfs/usr/lib/nagios/plugins" "$ctx/rootfs/usr/sbin" \
            "$ctx/rootfs/etc/vigil/nrpe.d" "$ctx/state"
        cp "$stage"/plugins/check_* "$ctx/rootfs/usr/lib/nagios/plugins/"
        cp "$stage/sbin/vigil-agent" "$ctx/rootfs/usr/sbin/"
        cp "$root/packaging/vigil-agent-image.cfg" "$ctx/rootfs/etc/vigil/vigil-agent.cfg"
        cp "$root/configs/nrpe/vigil.cfg" "$ctx/rootfs/etc/vigil/nrpe.d/vigil.cfg"
        tag=${VIGIL_IMAGE:-vigil:$(printf '%s' "$version" | tr -c 'A-Za-z0-9_.\n-' '-')}
        echo "building image $tag"
        docker build --quiet -f "$root/packaging/Dockerfile" -t "$tag" "$ctx"
        ;;
    *)
        echo "build.sh: unknown target $target (deb, rpm, image)" >&2
        exit 2
        ;;
    esac
done
