# TK_DROP_LEAKED_FLAGS(VARIABLE)
# -------------------------------
# Removes from VARIABLE (compiler or linker flags from pkg-config) every
# "-specs=FILE" flag, and every word that is an absolute path naming no
# file: flags a library's package build leaked into its .pc file, which
# name files of the packager's tool chain (see configure.ac, libetpan).
AC_DEFUN([TK_DROP_LEAKED_FLAGS], [
tk_kept=
for tk_word in $$1; do
	case $tk_word in
	-specs=*)
		AC_MSG_NOTICE([dropping $tk_word from $1 (a packaging flag leaked by pkg-config)])
		continue ;;
	/*)
		AS_IF([test ! -e "$tk_word"], [
			AC_MSG_NOTICE([dropping $tk_word from $1 (no such file)])
			continue]) ;;
	esac
	tk_kept="$tk_kept $tk_word"
done
$1=`echo $tk_kept`
])
