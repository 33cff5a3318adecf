package korup2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/korup2p/korup2p/internal/atomicfile"
)

// identityFile holds the peer's Ed25519 private key (libp2p protobuf encoding), 0600.
const identityFile = "identity.key"

// loadIdentity reads the peer key from dir, creating it on first start.
func loadIdentity(dir string) (crypto.PrivKey, bool, error) {
	path := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("identity %s: %w", path, err)
		}
		if key.Type() != crypto.Ed25519 {
			return nil, false, fmt.Errorf("identity %s: %s key, want Ed25519", path, key.Type())
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	if b, err = crypto.MarshalPrivateKey(key); err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return nil, false, fmt.Errorf("identity: %w", err)
	}
	return key, true, nil
}
