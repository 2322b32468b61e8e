# Sourced by every recipe after it sets its defaults (the Kaldi/ESPnet convention):
# "--some-option VALUE" sets the recipe's variable some_option (it must already exist, so a typo is
# an error); "key=value" arguments are collected in the array "overrides" for the config.
# "--help" prints the recipe's header comment (its usage). A relative --conf that is not found from
# the current folder is looked up in the recipe's folder (conf/debug.yaml works from anywhere).
overrides=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help)
      sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0;;
    --*)
      name=${1#--}; name=${name//-/_}
      if [ -z "${!name+x}" ]; then echo "$0: unknown option $1 (--help for the usage)" >&2; exit 2; fi
      if [ $# -lt 2 ]; then echo "$0: $1 needs a value" >&2; exit 2; fi
      printf -v "$name" '%s' "$2"; shift 2;;
    *=*) overrides+=("$1"); shift;;
    *) echo "$0: unknown argument $1 (--help for the usage)" >&2; exit 2;;
  esac
done
if [ -n "${conf:-}" ] && [ ! -f "$conf" ] && [ -f "$(dirname "$0")/$conf" ]; then
  conf=$(cd "$(dirname "$0")" && pwd)/$conf
fi
