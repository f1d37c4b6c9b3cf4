/*
 * fuzz_sockopt.c - libFuzzer target for `-o NAME=VALUE` and `opts set`:
 * the option-name lookup and every value parser.  A failure must always
 * say why; a success names an option of the table.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sockopt.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const unsigned kinds[] = {SOCKOPT_KINDS_TCP, SOCKOPT_KINDS_UDP,
					 SOCKOPT_UNIX, SOCKOPT_KINDS_ALL};
	struct sockopt_setting s;
	char err[SOCKOPT_ERRLEN];
	char *arg = malloc(size + 1);

	if (!arg)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		err[0] = '\0';
		if (sockopt_parse(arg, kinds[k], &s, err) < 0) {
			assert(err[0]);
			continue;
		}
		assert(s.opt && s.opt->name);
		assert(s.opt->kinds & kinds[k]);
	}
	free(arg);
	return 0;
}
