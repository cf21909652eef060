#!/usr/bin/env bash
# The container image built from the Dockerfile and run by a real container engine (podman), end to end:
#
#   bash scripts/image-engine-check.sh            # needs root, podman, and debootstrap when offline
#
# 1. the base image: the official node image if the engine can pull it; otherwise (our machines reach no
#    container registry) a stand-in built here: Debian bookworm minbase from Debian's packages (debootstrap),
#    with this machine's node and npm at /usr/local/bin, where the official image has them;
# 2. `podman build` of the Dockerfile as it is (every stage, `npm ci` from the npm registry inside the
#    build), with only BASE_IMAGE and BUILD_IMAGE set when the stand-in is used;
# 3. the image's metadata (non-root numeric user, ENTRYPOINT /proxy-server); its /app and launchers
#    against the tree scripts/image-tree.js assembles (what the packaging test runs): the same files with
#    the same modes and sizes; then every shell and /usr/bin/env deleted from it, and `--version` of every
#    launcher, each run as its own container;
# 4. /proxy-server and /proxy-agent as two containers (host network, the socket directory mounted as Kamaji
#    mounts its emptyDir), and a gRPC request from bin/konnectivity-client through the socket to a web
#    server on loopback.
#
# It leaves nothing behind: containers, the image, the stand-in base and the work directory are removed.
# Not part of `npm test` (it installs nothing and takes minutes; .ci/run runs it after the suite where it
# can); test/packaging/imageTree.test.ts is the check that runs everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE="${ENGINE:-podman}"
TAG="localhost/konnectivity-ts:engine-check"
# The built image with every shell and /usr/bin/env deleted: the containers below run from it, so nothing
# they do can need a shell.
NOSHELL_TAG="localhost/konnectivity-ts:engine-check-noshell"
STANDIN="localhost/konnectivity-ts-standin-base:node20-bookworm"
OFFICIAL_BASE="docker.io/library/node:20-bookworm-slim"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# KEEP_STANDIN=1 keeps the stand-in base for the next run (debootstrap takes minutes); a kept one is reused.
KEEP_STANDIN="${KEEP_STANDIN:-}"
# Our machines (VMs without CAP_SYS_RESOURCE, cgroups in hybrid mode): crun refuses hybrid cgroups, and the
# engine's default rlimits are above what a process here may set. runc, with limits no higher than ours,
# runs containers. Both are set for the RUN steps of the build and for every container.
OCI_RUNTIME="${OCI_RUNTIME:-runc}"
LIMITS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)

step() { printf '\n== %s\n' "$*" >&2; }
fail() {
  printf 'image-engine-check: %s\n' "$*" >&2
  exit 1
}

command -v "$ENGINE" >/dev/null || fail "$ENGINE is not installed (Debian: apt-get install -y $ENGINE)"
[ -f dist/main-server.js ] || fail "dist/ is missing: run npm run build first (the client and certs come from it)"

work="$(mktemp -d /tmp/knp-engine-check-XXXXXX)"
web_pid=""
built_standin=""
# Every image there was before, so that the build's intermediate layers (and only they) can be removed.
images_before="$("$ENGINE" images -aq --no-trunc | sort -u)"
cleanup() {
  "$ENGINE" rm -f knp-check-server knp-check-agent >/dev/null 2>&1 || true
  "$ENGINE" rmi -f "$NOSHELL_TAG" "$TAG" >/dev/null 2>&1 || true
  if [ -n "$built_standin" ] && [ -z "$KEEP_STANDIN" ]; then "$ENGINE" rmi -f "$STANDIN" >/dev/null 2>&1 || true; fi
  local keep
  keep="$("$ENGINE" image inspect --format '{{.Id}}' "$STANDIN" 2>/dev/null || true)"
  comm -13 <(echo "$images_before") <("$ENGINE" images -aq --no-trunc | sort -u) | grep -v "^sha256:${keep:-none}\$" |
    xargs -r "$ENGINE" rmi -f >/dev/null 2>&1 || true
  if [ -n "$web_pid" ]; then kill "$web_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step "$ENGINE: $("$ENGINE" --version)"

base="$OFFICIAL_BASE"
if "$ENGINE" image exists "$OFFICIAL_BASE"; then
  :
elif [ -n "$KEEP_STANDIN" ] && "$ENGINE" image exists "$STANDIN"; then
  step "reusing the stand-in base $STANDIN"
  base="$STANDIN"
elif ! "$ENGINE" pull -q "$OFFICIAL_BASE" >"$work/pull.log" 2>&1; then
  step "cannot pull $OFFICIAL_BASE ($(tail -n 1 "$work/pull.log")); building a stand-in base"
  command -v debootstrap >/dev/null || fail "debootstrap is not installed (Debian: apt-get install -y debootstrap)"
  root="$work/base"
  debootstrap --variant=minbase bookworm "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
    fail "debootstrap failed: $(tail -n 3 "$work/debootstrap.log")"
  node_bin="$(readlink -f "$(command -v node)")"
  npm_dir="$(npm root -g)/npm"
  install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
  # Node's headers, where the official image has them: the native helper's stage builds against them.
  mkdir -p "$root/usr/local/include"
  cp -a "$(dirname "$node_bin")/../include/node" "$root/usr/local/include/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # Our machines reach the npm registry through TLS interception whose CA only the machine's own bundle
  # holds: the stand-in trusts that bundle too, or `npm ci` in the build fails with SELF_SIGNED_CERT_IN_CHAIN.
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  tar -C "$root" -c . | "$ENGINE" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$STANDIN" >/dev/null
  built_standin=yes
  base="$STANDIN"
  rm -rf "$root"
fi

build_args=(--build-arg "BASE_IMAGE=$base")
# The stand-in also stands in for the full image the native helper's stage uses (it installs its compiler).
if [ "$base" = "$STANDIN" ]; then build_args+=(--build-arg "BUILD_IMAGE=$base"); fi
step "building the Dockerfile on $base"
"$ENGINE" build --runtime "$OCI_RUNTIME" "${LIMITS[@]}" --network=host "${build_args[@]}" -t "$TAG" . >"$work/build.log" 2>&1 ||
  fail "build failed: $(tail -n 20 "$work/build.log")"
tail -n 3 "$work/build.log" >&2

step "image metadata"
user="$("$ENGINE" image inspect --format '{{.Config.User}}' "$TAG")"
entrypoint="$("$ENGINE" image inspect --format '{{json .Config.Entrypoint}}' "$TAG")"
echo "user=$user entrypoint=$entrypoint" >&2
[[ "$user" =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || fail "the image runs as '$user', not a numeric non-root user"
[ "$entrypoint" = '["/proxy-server"]' ] || fail "ENTRYPOINT is $entrypoint, not [\"/proxy-server\"]"

step "the image without a shell: /bin/sh, /bin/bash, /bin/dash and /usr/bin/env deleted"
cid="$("$ENGINE" create "$TAG")"
mnt="$("$ENGINE" mount "$cid")"
# bookworm merges /bin into /usr/bin: resolve inside the image's tree, never on this machine.
for f in usr/bin/sh usr/bin/bash usr/bin/dash usr/bin/env bin/sh bin/bash bin/dash; do
  [ -L "$mnt/$(dirname "$f")" ] || rm -f "${mnt:?}/$f"
done

step "the image's /app and launchers against scripts/image-tree.js's tree"
node scripts/image-tree.js --out "$work/tree" >/dev/null 2>"$work/tree.log" ||
  fail "image-tree.js failed: $(tail -n 20 "$work/tree.log")"
# What the Dockerfile's final stage adds over the base image; directory sizes depend on the file system.
tree_listing() {
  (
    cd "$1"
    local paths=(app)
    for file in "$OLDPWD"/deploy/image/rootfs/*; do paths+=("$(basename "$file")"); done
    find "${paths[@]}" \( -type f -printf 'file %m %s %p\n' \) -o \( -type d -printf 'dir %m %p\n' \) \
      -o \( -type l -printf 'link %p -> %l\n' \) | LC_ALL=C sort
  )
}
tree_listing "$mnt" >"$work/image.list"
tree_listing "$work/tree/rootfs" >"$work/tree.list"
diff "$work/image.list" "$work/tree.list" >"$work/tree.diff" ||
  fail "the image and image-tree.js's tree differ (< image, > tree): $(head -n 20 "$work/tree.diff")"
echo "the same $(wc -l <"$work/image.list") entries under /app and the launchers in both" >&2
"$ENGINE" unmount "$cid" >/dev/null
"$ENGINE" commit -q "$cid" "$NOSHELL_TAG" >/dev/null
"$ENGINE" rm "$cid" >/dev/null
if no_shell="$("$ENGINE" --runtime "$OCI_RUNTIME" run --rm "${LIMITS[@]}" --entrypoint /bin/sh "$NOSHELL_TAG" \
  -c true 2>&1)"; then
  fail "a shell still runs in $NOSHELL_TAG"
fi
echo "$no_shell" | grep -Eqi 'no such file|not found' || fail "/bin/sh did not fail as missing: $no_shell"
echo "/bin/sh in the image: $(echo "$no_shell" | tail -n 1)" >&2
[ "$("$ENGINE" image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}}' "$NOSHELL_TAG")" = \
  "$user $entrypoint" ] || fail "the shell-less image lost the user or the entrypoint"

step "--version of every launcher, each in its own container"
version="$(node -p 'require("./package.json").version')"
# Every launcher the final stage copies to / (test/deploy/imageRecipe.test.ts holds them to package.json's bin).
for file in deploy/image/rootfs/*; do
  launcher="/$(basename "$file")"
  out="$("$ENGINE" --runtime "$OCI_RUNTIME" run --rm "${LIMITS[@]}" --entrypoint "$launcher" "$NOSHELL_TAG" --version)"
  echo "$launcher: $out" >&2
  [[ "$out" == *" v$version (node "* ]] || fail "$launcher --version printed '$out'"
done

step "/proxy-server and /proxy-agent containers, a gRPC request through the socket"
read -r agent_port admin_port health_port agent_admin agent_health web_port < <(
  node -e '
    const net = require("net");
    const servers = Array.from({ length: 6 }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
      .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });'
)
mkdir -p "$work/run" "$work/tls"
chmod 0777 "$work/run" # the image's user writes the socket and the event log there, as in Kamaji's emptyDir
node -e 'require("./dist/tools/certs").generateTlsMaterial(process.argv[1])' "$work/tls" >/dev/null
chmod -R a+rX "$work/tls"
node -e '
  require("http").createServer((q, r) => r.end(`the node behind the tunnel got ${q.url}\n`))
    .listen(Number(process.argv[1]), "127.0.0.1");' "$web_port" &
web_pid=$!

"$ENGINE" --runtime "$OCI_RUNTIME" run -d --name knp-check-server "${LIMITS[@]}" --network=host \
  -v "$work/run:/run/konnectivity" -v "$work/tls:/etc/kubernetes/pki:ro" "$NOSHELL_TAG" \
  --mode=grpc --uds-name=/run/konnectivity/konnectivity-server.socket --server-port=0 \
  --cluster-cert=/etc/kubernetes/pki/cluster.crt --cluster-key=/etc/kubernetes/pki/cluster.key \
  --agent-port="$agent_port" --agent-bind-address=127.0.0.1 --admin-port="$admin_port" \
  --health-port="$health_port" --health-bind-address=127.0.0.1 --data-dir=/run/konnectivity/data >/dev/null
"$ENGINE" --runtime "$OCI_RUNTIME" run -d --name knp-check-agent "${LIMITS[@]}" --network=host \
  --entrypoint /proxy-agent \
  -v "$work/tls:/etc/konnectivity:ro" "$NOSHELL_TAG" \
  --ca-cert=/etc/konnectivity/ca.crt --proxy-server-host=127.0.0.1 --proxy-server-port="$agent_port" \
  --admin-server-port="$agent_admin" --health-server-port="$agent_health" --health-server-host=127.0.0.1 \
  --agent-id=engine-check --data-dir=/tmp/konnectivity-agent >/dev/null

# The server is ready once an agent holds it. Two container starts take seconds on a quiet machine; two
# minutes leaves room for a loaded one before calling it a failure.
READY_WAIT_SECONDS=120
ready=""
for _ in $(seq 1 "$READY_WAIT_SECONDS"); do
  if [ "$(node -e '
      require("http").get(process.argv[1], (r) => { console.log(r.statusCode); r.resume(); })
        .on("error", () => console.log(0));' "http://127.0.0.1:$health_port/readyz")" = 200 ]; then
    ready=yes
    break
  fi
  sleep 1
done
if [ -z "$ready" ]; then
  "$ENGINE" logs knp-check-server >&2 || true
  "$ENGINE" logs knp-check-agent >&2 || true
  fail "the server never became ready"
fi
"$ENGINE" logs knp-check-server 2>&1 | grep -m1 'konnectivity server started' >&2 || true
"$ENGINE" logs knp-check-agent 2>&1 | grep -m1 'konnectivity agent started' >&2 || true
body="$(bin/konnectivity-client --mode=grpc --proxy-uds="$work/run/konnectivity-server.socket" \
  --request-host=127.0.0.1 --request-port="$web_port" --request-path=/from-the-containers)"
echo "through the tunnel: $body" >&2
[ "$body" = "the node behind the tunnel got /from-the-containers" ] || fail "unexpected answer '$body'"
server_uid="$("$ENGINE" top knp-check-server user 2>/dev/null | tail -n 1 | tr -d ' ')"
echo "the server container's process runs as user: $server_uid" >&2

step "image-engine-check: passed"
