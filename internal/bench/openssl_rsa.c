/*
 * openssl_rsa times OpenSSL's RSA-OAEP (SHA-1) private-key decryption of a
 * 32-byte value with the RSA key in a PEM file, two ways, and prints one
 * JSON object per line, as internal/bench/measure does:
 *
 *   rsa-kept   one RSA object used for every operation, as xmlsec1 and
 *              openssl speed use a key: its Montgomery contexts and
 *              blinding are set up once;
 *   rsa-fresh  a new RSA object built from the key's numbers for every
 *              operation (RSA_new, RSA_set0_key, RSA_set0_factors,
 *              RSA_set0_crt_params, RSA_PKCS1_OpenSSL), as SoftHSM2 2.6.1
 *              builds one in every C_DecryptInit, so that each operation
 *              also sets up the Montgomery contexts and the blinding.
 *
 * Each iteration runs both, in alternating order; the medians of each and
 * of the per-iteration differences ("rsa-fresh-extra") are printed.
 *
 *   cc -O2 -o openssl_rsa openssl_rsa.c -lcrypto
 *   openssl_rsa KEY.pem [WARMUP N]
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bn.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n) {
	qsort(v, n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what) {
	fprintf(stderr, "openssl_rsa: %s\n", what);
	exit(1);
}

/* fresh builds a new RSA object from k's numbers. */
static RSA *fresh(const RSA *k) {
	const BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qi;
	RSA *r = RSA_new();
	if (r == NULL)
		die("RSA_new");
	RSA_get0_key(k, &n, &e, &d);
	RSA_get0_factors(k, &p, &q);
	RSA_get0_crt_params(k, &dp, &dq, &qi);
	RSA_set_method(r, RSA_PKCS1_OpenSSL());
	if (!RSA_set0_factors(r, BN_dup(p), BN_dup(q)) ||
	    !RSA_set0_crt_params(r, BN_dup(dp), BN_dup(dq), BN_dup(qi)) ||
	    !RSA_set0_key(r, BN_dup(n), BN_dup(e), BN_dup(d)))
		die("RSA_set0");
	return r;
}

static void decrypt(RSA *k, const unsigned char *ct, int len) {
	unsigned char out[1024];
	if (RSA_private_decrypt(len, ct, out, k, RSA_PKCS1_OAEP_PADDING) != 32)
		die("RSA_private_decrypt");
}

static void decrypt_fresh(const RSA *k, const unsigned char *ct, int len) {
	RSA *r = fresh(k);
	decrypt(r, ct, len);
	RSA_free(r);
}

int main(int argc, char **argv) {
	if (argc != 2 && argc != 4)
		die("usage: openssl_rsa KEY.pem [WARMUP N]");
	int warmup = argc == 4 ? atoi(argv[2]) : 300, n = argc == 4 ? atoi(argv[3]) : 1000;
	if (warmup < 0 || n < 1)
		die("bad WARMUP or N");
	FILE *f = fopen(argv[1], "r");
	if (f == NULL)
		die("cannot open the key");
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	RSA *k = pk ? EVP_PKEY_get1_RSA(pk) : NULL;
	if (k == NULL)
		die("not an RSA private key in PEM");
	unsigned char in[32] = {1}, ct[1024];
	int len = RSA_public_encrypt(sizeof in, in, ct, k, RSA_PKCS1_OAEP_PADDING);
	if (len <= 0)
		die("RSA_public_encrypt");
	for (int i = 0; i < warmup; i++) {
		decrypt(k, ct, len);
		decrypt_fresh(k, ct, len);
	}
	double *kept = malloc(n * sizeof *kept), *fr = malloc(n * sizeof *fr), *diff = malloc(n * sizeof *diff);
	if (kept == NULL || fr == NULL || diff == NULL)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		double t0 = now_us(), t1, t2, a, b;
		if (i % 2 == 0) {
			decrypt(k, ct, len);
			t1 = now_us();
			decrypt_fresh(k, ct, len);
			t2 = now_us();
			a = t1 - t0, b = t2 - t1;
		} else {
			decrypt_fresh(k, ct, len);
			t1 = now_us();
			decrypt(k, ct, len);
			t2 = now_us();
			a = t2 - t1, b = t1 - t0;
		}
		kept[i] = a, fr[i] = b, diff[i] = b - a;
	}
	printf("{\"impl\": \"openssl\", \"what\": \"rsa-kept\", \"median_us\": %.1f, \"n\": %d}\n", median(kept, n), n);
	printf("{\"impl\": \"openssl\", \"what\": \"rsa-fresh\", \"median_us\": %.1f, \"n\": %d}\n", median(fr, n), n);
	printf("{\"impl\": \"openssl\", \"what\": \"rsa-fresh-extra\", \"median_us\": %.1f, \"n\": %d}\n", median(diff, n), n);
	return 0;
}
