//go:build tools

// Package internal pins, for go mod tidy, the modules the CLI and HTTP API use.

package internal

import (
	_ "github.com/ipld/go-car/v2"
	_ "github.com/ipld/go-car/v2/blockstore"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
)
