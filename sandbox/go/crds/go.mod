// Not built: pins the modules whose CustomResourceDefinitions the sandbox installs, so
// `kubectl apply --dry-run=server` checks manifests/ against their real schemas.
module rollout-relay.local/sandbox/crds

go 1.24.6

require (
	github.com/argoproj/argo-cd/v2 v2.14.21
	github.com/prometheus-operator/prometheus-operator v0.85.0
)
