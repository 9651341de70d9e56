#!/usr/bin/env bash
# Makes the certificates of mutual TLS between the web API and the ML service (every overlay
# turns it on; see infra/README.md, "Mutual TLS"): a CA, the ML service's server certificate for
# its Service's DNS names, and the web API's client certificate, as the two Secrets the base
# mounts, each in the layout of a `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`, `ca.crt`, as
# cert-manager writes them):
#
#   strata-ml-tls       the ML service's certificate and key; ca.crt: the CA its callers' certificates need
#   strata-api-ml-tls   the web API's client certificate and key; ca.crt: the CA the ML service's certificate needs
#
#   infra/k8s/ml-tls.sh DIR                  write them below DIR (DIR/ml, DIR/api; DIR/ca.key signs more)
#   infra/k8s/ml-tls.sh --apply DIR          ... and create or replace both Secrets with kubectl
#   options: --namespace NS (default strata), --days N (default 365)
#
# Renew before the certificates expire: run it again with --apply, then
# `kubectl -n strata rollout restart deploy/strata-ml deploy/strata-api` (the services read them
# at start). The dev overlay carries a development-only set made with
# `infra/k8s/ml-tls.sh --days 3650 infra/k8s/overlays/dev/ml-tls` (CA key deleted).
set -euo pipefail

namespace=strata
days=365
apply=
out=
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --namespace) namespace=$2; shift 2 ;;
        --days) days=$2; shift 2 ;;
        --apply) apply=1; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; exit 2 ;;
        *) [ -z "$out" ] || { usage >&2; exit 2; }; out=$1; shift ;;
    esac
done
[ -n "$out" ] || { usage >&2; exit 2; }

umask 077
mkdir -p "$out/ml" "$out/api"
cnf=$(mktemp)
trap 'rm -f "$cnf" "$out"/*.csr "$out"/*.srl' EXIT
# The Service `strata-ml` as a client in the namespace, or anywhere in the cluster, names it.
service=strata-ml
cat >"$cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$service, DNS:$service.$namespace, DNS:$service.$namespace.svc, DNS:$service.$namespace.svc.cluster.local
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key "$out/ca.key"
openssl req -new -x509 -config "$cnf" -extensions ca -key "$out/ca.key" -days "$days" \
    -subj "/CN=strata ML mTLS CA ($namespace)" -out "$out/ca.crt"
# issue DIR SECTION CN
issue() {
    key "$out/$1/tls.key"
    openssl req -new -config "$cnf" -key "$out/$1/tls.key" -subj "/CN=$3" -out "$out/$1.csr"
    openssl x509 -req -in "$out/$1.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
        -days "$days" -extfile "$cnf" -extensions "$2" -out "$out/$1/tls.crt" 2>/dev/null
    cp "$out/ca.crt" "$out/$1/ca.crt"
}
issue ml server "$service.$namespace.svc"
issue api client strata-api
chmod 0644 "$out"/*.crt "$out"/*/*.crt

if [ -n "$apply" ]; then
    for pair in ml:strata-ml-tls api:strata-api-ml-tls; do
        dir=$out/${pair%%:*}
        kubectl -n "$namespace" create secret generic "${pair#*:}" --type=kubernetes.io/tls \
            --from-file=tls.crt="$dir/tls.crt" --from-file=tls.key="$dir/tls.key" \
            --from-file=ca.crt="$dir/ca.crt" --dry-run=client -o yaml | kubectl apply -f -
    done
else
    echo "wrote $out/ml (Secret strata-ml-tls) and $out/api (Secret strata-api-ml-tls); create them with --apply"
fi
