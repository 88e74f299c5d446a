#!/usr/bin/env bash
# Makes a throw-away certificate authority and PEM certificates for the secured compose cluster
# (docker-compose-kafka-cluster-secure.yml), with openssl only:
#
#   scripts/make-certs.sh [DIR]        (default docker/secure/certs)
#
# DIR/ca.pem                 the CA certificate: clients trust it (ssl_cafile, ssl.ca.location)
# DIR/ca.key                 the CA's key (keep it, or delete it once certificates are made)
# DIR/kafka-N.pem            broker N's key (PKCS#8) and certificate chain in one file: the
#                            broker's ssl.keystore.location with ssl.keystore.type=PEM. Valid
#                            for kafka-N, localhost and 127.0.0.1, so host clients can verify
#                            the name they connect to.
# DIR/client.pem, client.key a client certificate (CN=tutorial-client) for mutual TLS
#
# Existing files are kept (a second run changes nothing); delete DIR to start over.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo/docker/secure/certs}"
days=825
mkdir -p "$dir"
cd "$dir"

if [ ! -f ca.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days "$days" \
        -subj "/CN=kafka-zk-rs throw-away CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    echo "make-certs: made the CA ($dir/ca.pem)" >&2
fi

# $1 name, $2 subject, $3 subjectAltName (empty for none): $1.key and $1.crt signed by the CA.
issue() {
    local name="$1" subject="$2" san="$3" ext
    ext="$(mktemp)"
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=serverAuth,clientAuth"
        if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
    } >"$ext"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key" 2>/dev/null
    openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days "$days" -extfile "$ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$ext"
}

for n in 1 2 3; do
    name="kafka-$n"
    if [ ! -f "$name.pem" ]; then
        issue "$name" "/CN=$name" "DNS:$name,DNS:localhost,IP:127.0.0.1"
        # Kafka's PEM keystore: the private key, then the certificate chain.
        cat "$name.key" "$name.crt" ca.pem >"$name.pem"
        rm -f "$name.key" "$name.crt"
        echo "make-certs: made $dir/$name.pem" >&2
    fi
done

if [ ! -f client.pem ]; then
    issue client "/CN=tutorial-client" ""
    cat client.crt ca.pem >client.pem
    rm -f client.crt
    echo "make-certs: made $dir/client.pem and client.key" >&2
fi

# The broker image runs as uid 1001 (kafka); the keys must be readable by it in the container.
chmod 0644 ./*.pem client.key
chmod 0600 ca.key
