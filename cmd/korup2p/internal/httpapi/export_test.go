package httpapi

// TokenMACForTest is the MAC of a minted token's payload, for tests that sign
// payloads the mint would not write.
var TokenMACForTest = tokenMAC
