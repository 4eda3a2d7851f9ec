package s13

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSessionID(t *testing.T) {
	assert.Equal(t, sessionID, SessionID(mmeHost, 1700000000, 42))
	assert.Equal(t, "h;4294967295;0", SessionID("h", 0xFFFFFFFF, 0))
}
