package korup2p

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/internal/atomicfile"
)

// A user key is one person's identity across devices: an Ed25519 key, apart from
// each device's peer key, kept in DATA/user.key (0600) and moved between devices
// with ExportUserKey and ImportUserKey. A Node that holds one creates restricted
// spaces owned by the user rather than by the device, and grants itself, signed by
// the user key, Admin over every space the user owns that it holds (its "device
// token", written into the space like any grant). So every device of the user may
// read, write and administer the user's spaces, each writing as itself (its own peer
// ID, its own signature), and a lost device is cut off by revoking its token.

// userKeyFile holds the user key (libp2p protobuf encoding), 0600.
const userKeyFile = "user.key"

// userKeyPrefix starts the text form of an exported user key.
const userKeyPrefix = "korup2pkey1"

var userKeyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrInvalidUserKey means a string given as an exported user key is not one.
var ErrInvalidUserKey = errors.New("invalid user key")

// ErrUserKeyExists means ImportUserKey would replace a different user key.
var ErrUserKeyExists = errors.New("a different user key is in the data directory")

// loadUserKey reads the user key in dir; nil if there is none.
func loadUserKey(dir string) (crypto.PrivKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, userKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("user key: %w", err)
	}
	key, err := crypto.UnmarshalPrivateKey(b)
	if err != nil || key.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("user key %s: %w: not an Ed25519 key (%v)", filepath.Join(dir, userKeyFile), ErrInvalidUserKey, err)
	}
	return key, nil
}

// ExportUserKey returns the user key of the data directory dir in text form, to
// give to ImportUserKey on another device of the same user, creating the key first
// if there is none (created reports it: a running daemon uses a new key from its
// next start). The text is a secret: whoever holds it acts as the user.
func ExportUserKey(dir string) (text string, user peer.ID, created bool, err error) {
	key, err := loadUserKey(dir)
	if err != nil {
		return "", "", false, err
	}
	if key == nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", "", false, err
		}
		if key, _, err = crypto.GenerateEd25519Key(rand.Reader); err != nil {
			return "", "", false, err
		}
		if err := writeUserKey(dir, key); err != nil {
			return "", "", false, err
		}
		created = true
	}
	b, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return "", "", false, err
	}
	if user, err = peer.IDFromPrivateKey(key); err != nil {
		return "", "", false, err
	}
	return userKeyPrefix + strings.ToLower(userKeyEncoding.EncodeToString(b)), user, created, nil
}

// ImportUserKey stores the exported user key text in the data directory dir. It
// refuses to replace a different user key (ErrUserKeyExists); importing the same
// key again is a no-op. A running daemon uses it from its next start.
func ImportUserKey(dir, text string) (peer.ID, error) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, userKeyPrefix) {
		return "", fmt.Errorf("%w: it does not start with %s", ErrInvalidUserKey, userKeyPrefix)
	}
	b, err := userKeyEncoding.DecodeString(strings.ToUpper(strings.TrimPrefix(text, userKeyPrefix)))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidUserKey, err)
	}
	key, err := crypto.UnmarshalPrivateKey(b)
	if err != nil || key.Type() != crypto.Ed25519 {
		return "", fmt.Errorf("%w: not an Ed25519 key (%v)", ErrInvalidUserKey, err)
	}
	user, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidUserKey, err)
	}
	old, err := loadUserKey(dir)
	if err != nil {
		return "", err
	}
	if old != nil {
		if old.Equals(key) {
			return user, nil
		}
		oldID, _ := peer.IDFromPrivateKey(old)
		return "", fmt.Errorf("%w (%s): remove %s first to replace it", ErrUserKeyExists, oldID, filepath.Join(dir, userKeyFile))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return user, writeUserKey(dir, key)
}

func writeUserKey(dir string, key crypto.PrivKey) error {
	b, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, userKeyFile), b, 0o600); err != nil {
		return fmt.Errorf("user key: %w", err)
	}
	return nil
}

// UserID returns the ID of the user key this Node holds; "" if none.
func (n *Node) UserID() peer.ID { return n.userID }

// ownerKey is the key that owns the restricted spaces this Node creates: the
// user key if there is one, else the peer key.
func (n *Node) ownerKey() crypto.PrivKey {
	if n.user != nil {
		return n.user
	}
	return n.key
}

// adopt gives this device Admin over sp, signed by the user key, if the user owns
// sp and this device holds no valid capability there yet.
func (n *Node) adopt(ctx context.Context, sp *space) error {
	if n.user == nil || sp.acc == nil || sp.acc.owner != n.userID || n.id == n.userID {
		return nil
	}
	if _, err := sp.acc.leafFor(n.id, caps.Admin, nil, []string{"*"}, n.opts.Now()); err == nil {
		return nil
	}
	tok, err := caps.Issue(n.user, caps.Token{Audience: n.id, Space: sp.id(), Ability: caps.Admin, Keys: []string{"*"}})
	if err != nil {
		return err
	}
	op, err := capOp(tok)
	if err != nil {
		return err
	}
	if _, err := sp.writeSysWith(ctx, []dag.Op{op}, tok.CID()); err != nil {
		return fmt.Errorf("space %s: grant this device Admin as the user: %w", sp.name, err)
	}
	n.log.Info("this device holds Admin over the user's space", "space", sp.name, "user", n.userID)
	return nil
}

// ReadUserID returns the ID of the user key in the data directory dir; "" if none.
func ReadUserID(dir string) (peer.ID, error) {
	key, err := loadUserKey(dir)
	if err != nil || key == nil {
		return "", err
	}
	return peer.IDFromPrivateKey(key)
}
