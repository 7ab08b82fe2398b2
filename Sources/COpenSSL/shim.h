/* Only libcrypto's EVP digest interface: MD5 for the legacy ids PostgreSQL's md5() also makes. */
#include <openssl/evp.h>
