# Sourced by the test scripts that run guests on /dev/kvm.
#
# require_kvm [WHY]: exit 77 (ctest's skip code, SKIP_RETURN_CODE) with a
# visible SKIP line unless /dev/kvm can be opened for reading and writing.
require_kvm() {
	if ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		(exec 3<>/dev/kvm) 2>/dev/null; }; then
		echo "SKIP: /dev/kvm not usable${1:+; $1}"
		exit 77
	fi
}

# RHYVE_ENGINE_ARGS: rhyve arguments that the scripts which build their
# own command lines add to them (the interp.* variants: "--engine interp
# ..."); require_engine is require_kvm unless those choose interp, which
# needs no /dev/kvm.
engine_args=(${RHYVE_ENGINE_ARGS:-})
require_engine() {
	case " ${RHYVE_ENGINE_ARGS:-} " in
	*" --engine interp "*) ;;
	*) require_kvm "$@" ;;
	esac
}
