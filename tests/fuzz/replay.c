/*
 * replay.c - runs a fuzz target over its seed corpus and every regression
 * input (tests/fuzz/corpus/TARGET/), as a Criterion test with the ordinary
 * compiler, so inputs that once crashed stay tested in every build.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

Test(fuzz, replay_corpus)
{
	const char *root = getenv("SOURCE_ROOT");
	char *dir, *path;
	struct dirent *de;
	size_t count = 0;
	DIR *d;

	cr_assert(root, "SOURCE_ROOT is not set");
	cr_assert(asprintf(&dir, "%s/tests/fuzz/corpus/%s", root, FUZZ_TARGET) >
		  0);
	d = opendir(dir);
	cr_assert(d, "no corpus at %s", dir);
	while ((de = readdir(d))) {
		unsigned char buf[65536];
		FILE *f;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		cr_assert(asprintf(&path, "%s/%s", dir, de->d_name) > 0);
		f = fopen(path, "rb");
		cr_assert(f, "%s", path);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		free(path);
		count++;
	}
	closedir(d);
	free(dir);
	cr_assert(count > 0, "empty corpus for %s", FUZZ_TARGET);
}
