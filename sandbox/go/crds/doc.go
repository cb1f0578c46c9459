// Package crds is never built: the sandbox build script copies CustomResourceDefinitions from the
// modules go.mod pins (Argo CD, prometheus-operator).
package crds
