/*
 * fuzz_lookup.c — libFuzzer target for a lookup's JSON answers and URL
 * templates (lookup.c): the input is read as an answer through a few
 * paths, and as a URL template; a value read is a string, and a
 * template that builds a URL passes the check the configuration makes
 * (it aborts otherwise). Built by tests/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiketti/lookup.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf_lookup_map maps[] = {
		{ "tier", "customer.tier" }, { "id", "data[0].id" },
		{ "deep", "a.b[2].c[0]" }, { "top", "x" },
	};
	static const struct conf_lookup l = { .name = "crm",
	    .maps = maps, .nmaps = 4 };
	static const struct store_field f[] = {
		{ "order", "47 11/&?#x" },
	};
	struct lookup_value *v;
	size_t n;
	char err[200], *tmpl, *url;

	if (lookup_answer(&l, (const char *)data, size, &v, &n, err,
	    sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			if (v[i].value == NULL || v[i].field == NULL)
				abort();
		lookup_values_free(v, n);
	}
	if ((tmpl = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tmpl, data, size);
	tmpl[size] = '\0';
	if ((url = lookup_url(tmpl, "anna@example.com", f, 1, err,
	    sizeof(err))) != NULL) {
		if (lookup_url_check(tmpl) != NULL)
			abort();
		free(url);
	}
	free(tmpl);
	return 0;
}
