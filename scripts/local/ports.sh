# Sourced by the local scripts: the services' local ports from ports.env (the one place they are declared),
# for each KD_*_PORT* variable not already set in the environment (the tests move them).
while IFS='=' read -r key value; do
  if [[ -z ${!key:-} ]]; then export "$key=$value"; fi
done < <(grep -E '^KD_[A-Z_]+=[0-9]+$' "$(dirname "${BASH_SOURCE[0]}")/ports.env")
