//go:build tools

// Package tools pins the rollouts-controller command so `go mod tidy` records its dependencies.
package tools

import _ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
