# shellcheck shell=bash disable=SC2034  # sourced: kafka_security_env and brokers are for services.sh
# Sourced by services.sh: how the services reach Kafka, by the one switch KD_KAFKA_SECURITY (issue 15).
#
#   plaintext  (default) the brokers' plaintext listeners
#   sasl_ssl   TLS, then SCRAM-SHA-512 as user "shop"        (the brokers' ports + 50)
#   mtls       mutual TLS with the cluster's client certificate (the brokers' ports + 60)
#
# The CA, client certificate and password are the ones scripts/kafka/cluster.sh made, in KD_KAFKA_TLS_DIR
# [$KD_VAR/kafka/tls]. Sets `brokers` to the listeners to use and `kafka_security_env` to the settings
# (KAFKA_SECURITY_PROTOCOL, KAFKA_CA_FILE, …) each Kafka client is started with. Expects `brokers` and `var`.

security="${KD_KAFKA_SECURITY:-plaintext}"
tls_dir="${KD_KAFKA_TLS_DIR:-$var/kafka/tls}"
kafka_security_env=()

# Each host:port of `brokers` with its port moved by $1.
shift_ports() {
  local moved="" address
  IFS=',' read -r -a addresses <<<"$brokers"
  for address in "${addresses[@]}"; do moved+="${moved:+,}${address%:*}:$((${address##*:} + $1))"; done
  echo "$moved"
}

case "$security" in
  plaintext) ;;
  sasl_ssl)
    brokers="$(shift_ports 50)"
    kafka_security_env=(KAFKA_SECURITY_PROTOCOL=sasl_ssl KAFKA_CA_FILE="$tls_dir/ca.pem"
      KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SASL_USERNAME=shop KAFKA_SASL_PASSWORD_FILE="$tls_dir/shop.password")
    ;;
  mtls)
    brokers="$(shift_ports 60)"
    kafka_security_env=(KAFKA_SECURITY_PROTOCOL=ssl KAFKA_CA_FILE="$tls_dir/ca.pem"
      KAFKA_CERT_FILE="$tls_dir/client.pem" KAFKA_KEY_FILE="$tls_dir/client.key")
    ;;
  *)
    echo "services: KD_KAFKA_SECURITY must be plaintext, sasl_ssl or mtls, not '$security'" >&2
    exit 2
    ;;
esac
if [[ "$security" != plaintext && ! -s "$tls_dir/ca.pem" ]]; then
  echo "services: KD_KAFKA_SECURITY=$security needs the cluster's TLS files in $tls_dir (scripts/kafka/cluster.sh start makes them)" >&2
  exit 1
fi
