// Command argocd-applicationset-controller is Argo CD's own ApplicationSet controller command,
// built from its Go module for the rollout-relay sandbox (the plugin generator's real peer).
package main

import (
	"os"

	command "github.com/argoproj/argo-cd/v2/cmd/argocd-applicationset-controller/commands"
)

func main() {
	if err := command.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
