/* t/unit/vectors/keystore_acra082.h: a keystore v1 directory made by real Acra 0.82.0
 * acra-keymaker (--client_id=test-client, default set), acra-addzone and
 * acra-poisonrecordmaker (which also made the poison key pair), with the master key below.
 * Test keys only. Each file is base64 of the file's bytes. */
#ifndef ACRA_T_UNIT_VECTORS_KEYSTORE_ACRA082_H
#define ACRA_T_UNIT_VECTORS_KEYSTORE_ACRA082_H

static const char acra082_master_b64[] = "Vgs9srQxnnKHS6j4yJaJIil5xfwC+lhw2vMnUFgVAo4=";
static const char acra082_zone[] = "DDDDDDDDrwxnMdlnvtQdMwrz";
static const char acra082_poison_record_b64[] =
	"IiIiIiIiIiJVRUMyAAAALdLmBMoDAzZqoI7OY1aqbKlzL2dot09xoLuYwP1sKjpb"
	"uC9PzI8gJwQmVAAAAAABAUAMAAAAEAAAACAAAABvNklc6UwhqWGN+mQtFbpdsiIu"
	"zmezUPPmXrzTWrGEQIkWzdxqkH+EW7YwvbooNxttWeF2uBYvy69BcNWCAAAAAAAA"
	"AAABAUAMAAAAEAAAAFYAAABnitMIwl0T4kNi7y8riuo4M3AgUoOdgh9pQyaPuHxc"
	"4sSObD6vPN0TjlYlN1gCwblJr65fg3nicau0igpPXiJHXmLilDU4c7GWyBuBp8Dr"
	"1+u6DTldqgb3xu8Fk1G1NZRZc+QzCzNGMc1EQCCu01C80eI=";
static const struct { const char *name, *b64; } acra082_files[] = {
	{ ".poison_key/poison_key", "AAEBQAwAAAAQAAAALQAAACH7kSgo2j+1Pvm+DXhe6zmWB0WK999dDZ+k1cua5us2ONuzSGJZ0nelT3OsyMlJn5MrWBeoJ7dHT32QEn9HEkrkjnJDmFY+jrs=" },
	{ ".poison_key/poison_key.pub", "VUVDMgAAAC01pXIRA6o/kYzHmh0S9uk/3CGWydH5FwMMpMl+2DdkDmfLQbjb" },
	{ "DDDDDDDDrwxnMdlnvtQdMwrz_zone", "AAEBQAwAAAAQAAAALQAAAMgLsfo/QHabuYDNbcOTdRMBX0og+pgEpikkJIq88x0N3aTcduvqE1/Cm2orMcM2haxJ+bLQt56RPTPa/M9V9Y1ymrDSci9TuSk=" },
	{ "DDDDDDDDrwxnMdlnvtQdMwrz_zone.pub", "VUVDMgAAAC3JePpZAwfm9v67BB7SeNG42wTLMIhYCPSn0nEhTN2S3/6OstH3" },
	{ "test-client", "AAEBQAwAAAAQAAAALQAAAIzTb4X7SAric1Szq2O8VkeuKHMd/HuK2439ZzFkraagK6F7VimKXbAII6vja0OgBuIMNgwkXUtIbYfYhyICaKrsG7S0FqQoKLs=" },
	{ "test-client.pub", "VUVDMgAAAC04k3xbA6S1ezu/D5QRo4mslTS7Lrt9Jv4c9IFjx9RfbUcrKeEw" },
	{ "test-client_server", "AAEBQAwAAAAQAAAALQAAACS/KstnJVu7340a3pSbVsGDU+3SZz/ewqJhzmsBEjGz5v5MilKtdbYCnBotzzsOpPbZwbvgU8VDU96ErsbAwMWF8LKWUov/E6o=" },
	{ "test-client_server.pub", "VUVDMgAAAC2ULuSzApfmt8s2MlAtSqGkcSMWSBFstr0VjEIvryhrUiZIeyHt" },
	{ "test-client_storage", "AAEBQAwAAAAQAAAALQAAAF0fJFck0J52ZYEYTc0O5zV+pJHPZjrZlR2byWaOUJZtp6zYE0Ak7wTs8uiIBLjNv/pJwdGxUGrpaxy157kQIaSr/jWikf/X0NI=" },
	{ "test-client_storage.pub", "VUVDMgAAAC05/IKcAnQieZOChBsQkhM3LF2qdcFILp8X2KmehhiZk975m2td" },
	{ "test-client_translator", "AAEBQAwAAAAQAAAALQAAAIZdchi/PxRxDn1xa1UiKmhRFb2nDzsim92eQ+hdGnYvGsFR/Za6Wabka4tixJK4Rml3xspusqXGPB/7ydsqjqYVpf9eih780c4=" },
	{ "test-client_translator.pub", "VUVDMgAAAC1J/QEcA5XU+xQw/XjkQ9fmMVcnwBJIRpUTZ3tlowLX5EamuDCj" },
};

#endif
