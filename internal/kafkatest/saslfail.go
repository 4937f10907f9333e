package kafkatest

import (
	"bytes"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AnswerPlainLikeKafka makes c answer a SASL/PLAIN authentication whose
// password is not password as Apache Kafka does: a SaslAuthenticate
// response with SASL_AUTHENTICATION_FAILED and Kafka's message. kfake
// itself closes the connection, which a client cannot tell from a broker
// going away, so tests of how an authentication failure is reported need
// this.
func AnswerPlainLikeKafka(c *kfake.Cluster, password string) {
	c.ControlKey(kmsg.SASLAuthenticate.Int16(), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.SASLAuthenticateRequest)
		if parts := bytes.Split(req.SASLAuthBytes, []byte{0}); len(parts) == 3 && string(parts[2]) == password {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.Version = req.Version
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
}
