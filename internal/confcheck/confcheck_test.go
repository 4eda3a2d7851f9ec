package confcheck

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errInvalid = errors.New("pkg: invalid configuration")

func TestEveryFieldReported(t *testing.T) {
	c := New(errInvalid)
	require.NoError(t, c.Err(), "nothing recorded: no error")
	c.Bad("A", "%d: must be positive", -1)
	c.Bad("B[2].C", "empty")
	err := c.Err()
	require.ErrorIs(t, err, errInvalid)
	assert.Equal(t, "pkg: invalid configuration: A: -1: must be positive\npkg: invalid configuration: B[2].C: empty", err.Error())
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "A", fe.Field, "the first bad field")
	var all []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		all = append(all, e.(*FieldError).Field)
	}
	assert.Equal(t, []string{"A", "B[2].C"}, all)
}
