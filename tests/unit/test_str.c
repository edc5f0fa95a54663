/* Unit tests for str.c, buf.c and json.c. */
#include "tk_test.h"
#include "tiketti/buf.h"
#include "tiketti/json.h"
#include "tiketti/str.h"

static void
t_duration(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(str_to_duration("28d", 0, &v), TK_OK);
	assert_int_equal(v, 28 * 86400);
	assert_int_equal(str_to_duration("28", 1, &v), TK_OK);
	assert_int_equal(v, 28 * 86400);
	assert_int_equal(str_to_duration("30", 0, &v), TK_OK);
	assert_int_equal(v, 30);
	assert_int_equal(str_to_duration("2w", 0, &v), TK_OK);
	assert_int_equal(v, 14 * 86400);
	assert_int_equal(str_to_duration("5x", 0, &v), TK_EPARSE);
	assert_int_equal(str_to_duration("5dd", 0, &v), TK_EPARSE);
	assert_int_equal(str_to_duration("", 0, &v), TK_EPARSE);
	assert_int_equal(str_to_duration("-1d", 0, &v), TK_EPARSE);
	assert_int_equal(str_to_duration("99999999999999999999d", 0, &v), TK_EPARSE);
}

static void
t_duration_print(void **state)
{
	char b[32];

	(void)state;
	str_duration(86400 * 3, b, sizeof(b));
	assert_string_equal(b, "3d");
	str_duration(7200, b, sizeof(b));
	assert_string_equal(b, "2h");
	str_duration(61, b, sizeof(b));
	assert_string_equal(b, "61s");
}

static void
t_strings(void **state)
{
	char a[] = "  Hello\r\nX-Evil: 1\t ";
	char b[] = "MiXeD@Example.COM";
	long long v;

	(void)state;
	assert_string_equal(str_trim(str_oneline(a)), "Hello  X-Evil: 1");
	assert_string_equal(str_lower(b), "mixed@example.com");
	assert_int_equal(str_to_ll("42", 0, 100, &v), TK_OK);
	assert_int_equal(v, 42);
	assert_int_equal(str_to_ll("420", 0, 100, &v), TK_EPARSE);
	assert_int_equal(str_to_ll("4x", 0, 100, &v), TK_EPARSE);
	assert_true(str_utf8_valid("\xc3\xa4", 2));
	assert_false(str_utf8_valid("\xc3", 1));
	assert_false(str_utf8_valid("\xc0\x80", 2));	/* overlong */
	assert_false(str_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
}

static void
t_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), TK_OK);
	assert_int_equal(buf_addc(&b, '9'), TK_ELIMIT);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_free(&b);
}

static void
t_json(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_init(&b, 0);
	json_init(&j, &b, 0);
	json_obj_open(&j);
	json_key(&j, "a");
	json_str(&j, "x\"\n\x01\xff");
	json_key(&j, "b");
	json_arr_open(&j);
	json_int(&j, 1);
	json_null(&j);
	json_arr_close(&j);
	json_obj_close(&j);
	assert_string_equal(b.data,
	    "{\"a\":\"x\\\"\\n\\u0001\xef\xbf\xbd\",\"b\":[1,null]}");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_duration),
		cmocka_unit_test(t_duration_print),
		cmocka_unit_test(t_strings),
		cmocka_unit_test(t_buf_cap),
		cmocka_unit_test(t_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
