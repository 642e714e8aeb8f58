#!/usr/bin/env bash
# Makes this folder's test certificates (EC P-256, valid 100 years): an authority (ca.pem), a
# peer's key and certificate signed by it for 127.0.0.1 and localhost (peer.key, peer.pem), a
# client's key and certificate signed by it for mutual TLS (client.key, client.pem), and a
# self-signed one nobody trusts (stranger.key, stranger.pem). Run here: bash make.sh
set -euo pipefail
days=36500
openssl ecparam -name prime256v1 -genkey -noout -out ca-sec1.key
openssl pkcs8 -topk8 -nocrypt -in ca-sec1.key -out ca.key && rm ca-sec1.key
openssl req -x509 -new -key ca.key -sha256 -days $days -subj "/CN=bittensor test authority" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out ca.pem
for who in peer client stranger; do
  openssl ecparam -name prime256v1 -genkey -noout -out $who-sec1.key
  openssl pkcs8 -topk8 -nocrypt -in $who-sec1.key -out $who.key && rm $who-sec1.key
done
openssl req -new -key peer.key -subj "/CN=peer" -out peer.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > peer.ext
openssl x509 -req -in peer.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -sha256 \
    -extfile peer.ext -out peer.pem
openssl req -new -key client.key -subj "/CN=client" -out client.csr
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -sha256 \
    -extfile client.ext -out client.pem
openssl req -x509 -new -key stranger.key -sha256 -days $days -subj "/CN=stranger" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -out stranger.pem
rm -f peer.csr peer.ext client.csr client.ext ca.srl ca.key
