package runner_test

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sluicehq/sluice/connect/runner"
)

// requireBasicAuth is a host application's own middleware: a request
// without the right user and password gets 401 and never reaches next.
func requireBasicAuth(user, password string, next http.Handler) http.Handler {
	wantUser, wantPassword := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		gotUser, gotPassword := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		// Constant-time comparisons, both always made.
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:]) == 1
		passwordOK := subtle.ConstantTimeCompare(gotPassword[:], wantPassword[:]) == 1
		if !ok || !userOK || !passwordOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="connect"`)
			http.Error(w, "User cannot access the resource.", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// The REST handler has no authentication of its own: wrap it in the host
// application's middleware (basic authentication here, with net/http only;
// an OIDC or mTLS check works the same way) before serving it.
func ExampleRunner_Handler_auth() {
	r, err := runner.New(runner.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	handler := requireBasicAuth("admin", "s3cret", r.Handler())
	// httptest.NewTLSServer or http.ListenAndServeTLS in a real program:
	// basic authentication sends the password in clear over plain http.
	srv := httptest.NewServer(handler)
	defer srv.Close()

	get := func(user, password string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/connectors", nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	get("", "")
	get("admin", "wrong")
	get("admin", "s3cret")
	// Output:
	// 401 User cannot access the resource.
	// 401 User cannot access the resource.
	// 200 []
}
