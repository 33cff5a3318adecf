package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/korup2p/korup2p"
)

func (c *cli) putCmd() *cobra.Command {
	var asString, patch bool
	cmd := &cobra.Command{
		Use:     "put KEY [JSON]",
		Aliases: []string{"set"},
		Short:   "Set a key to a JSON value",
		Long: `Set KEY to a JSON value, given as an argument or read from standard input (when
it is absent or "-"). With --string the text is stored as a JSON string as it is
(from standard input, without one trailing newline). With --patch the value is an
RFC 7386 merge patch applied to the current value: fields set to null are removed.

Prints the new version (the CID of the write's node).`,
		Example: `  korup2p put users/ada '{"name":"Ada","langs":["en"]}'
  echo '{"name":"Grace"}' | korup2p put users/grace
  korup2p put notes/today --string 'buy milk'
  korup2p put users/ada --patch '{"city":"London","langs":null}'
  korup2p put users/ada '{"name":"Ada"}' --json   # {"key":…,"version":…,"clock":…}`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asString && patch {
				return usagef("--string and --patch do not go together")
			}
			key := args[0]
			var text []byte
			fromStdin := len(args) < 2 || args[1] == "-"
			if fromStdin {
				if isTerminal(c.stdin) {
					fmt.Fprintln(c.stderr, "reading the value from standard input (end it with Ctrl-D)")
				}
				b, err := io.ReadAll(c.stdin)
				if err != nil {
					return fmt.Errorf("read standard input: %w", err)
				}
				text = b
			} else {
				text = []byte(args[1])
			}
			var value json.RawMessage
			if asString {
				if fromStdin {
					text = bytes.TrimSuffix(text, []byte("\n"))
					text = bytes.TrimSuffix(text, []byte("\r"))
				}
				value, _ = json.Marshal(string(text))
			} else {
				v, err := parseJSONValue(text)
				if err != nil {
					return err
				}
				value = v
			}
			return c.withBackend(func(ctx context.Context, b backend) error {
				write := b.Put
				if patch {
					write = b.Patch
				}
				res, err := write(ctx, c.space, key, value)
				if err != nil {
					return err
				}
				return c.printWrite(key, res)
			})
		},
	}
	cmd.Flags().BoolVar(&asString, "string", false, "store the text as a JSON string")
	cmd.Flags().BoolVar(&patch, "patch", false, "apply the value as an RFC 7386 merge patch")
	return cmd
}

// printWrite prints an acknowledged write: its version, or its JSON.
func (c *cli) printWrite(key string, res korup2p.WriteResult) error {
	if c.json {
		return printJSON(c.stdout, writeJSON{Key: key, Version: cidString(res.Version), Clock: clockOf(res.Clock)})
	}
	_, err := fmt.Fprintln(c.stdout, res.Version)
	return err
}

// parseJSONValue checks that text is exactly one JSON value; its error (exit code 2)
// says where it is not.
func parseJSONValue(text []byte) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) == 0 {
		return nil, badInput(errors.New("invalid JSON: no value given (pass it as an argument or on standard input; --string stores text)"))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badInput(jsonError(trimmed, err, dec.InputOffset()))
	}
	if dec.More() || dec.InputOffset() != int64(len(trimmed)) {
		return nil, badInput(fmt.Errorf("invalid JSON: more than one value (extra text at byte %d)", dec.InputOffset()+1))
	}
	return json.RawMessage(trimmed), nil
}

// jsonError describes a JSON parse error with its position.
func jsonError(text []byte, err error, offset int64) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		offset = se.Offset
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("invalid JSON: unexpected end of input")
	}
	hint := ""
	if len(text) > 0 && (text[0] >= 'a' && text[0] <= 'z' || text[0] >= 'A' && text[0] <= 'Z') {
		hint = " (to store text, quote it as a JSON string or use --string)"
	}
	return fmt.Errorf("invalid JSON at byte %d: %v%s", offset, err, hint)
}
