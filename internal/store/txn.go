package store

// Txn is a transaction under construction: writes and the guards that make
// it safe against concurrent writers. Encoding errors are kept and
// reported by Err (and by Store.Commit).
type Txn struct {
	Ops []Op
	err error
}

// Put sets key to v's JSON.
func (t *Txn) Put(key string, v any) {
	b, err := encode(key, v)
	if err != nil {
		t.err = err
		return
	}
	t.Ops = append(t.Ops, Op{Verb: VerbSet, Key: key, Value: b})
}

// PutRaw sets key to a plain string value.
func (t *Txn) PutRaw(key, v string) {
	t.Ops = append(t.Ops, Op{Verb: VerbSet, Key: key, Value: []byte(v)})
}

// CAS sets key to v's JSON if its modify index is still index (0: only if
// it does not exist).
func (t *Txn) CAS(key string, v any, index uint64) {
	b, err := encode(key, v)
	if err != nil {
		t.err = err
		return
	}
	t.Ops = append(t.Ops, Op{Verb: VerbCAS, Key: key, Value: b, Index: index})
}

// MustNotExist fails the transaction if key exists.
func (t *Txn) MustNotExist(key string) {
	t.Ops = append(t.Ops, Op{Verb: VerbCheckNotExists, Key: key})
}

// CheckIndex fails the transaction unless key exists with modify index.
func (t *Txn) CheckIndex(key string, index uint64) {
	t.Ops = append(t.Ops, Op{Verb: VerbCheckIndex, Key: key, Index: index})
}

// CheckSession fails the transaction unless session holds key: the fence
// of a leader's writes.
func (t *Txn) CheckSession(key, session string) {
	t.Ops = append(t.Ops, Op{Verb: VerbCheckSession, Key: key, Session: session})
}

// Delete removes key (nothing if it does not exist).
func (t *Txn) Delete(key string) { t.Ops = append(t.Ops, Op{Verb: VerbDelete, Key: key}) }

// DeleteCAS removes key if its modify index is still index.
func (t *Txn) DeleteCAS(key string, index uint64) {
	t.Ops = append(t.Ops, Op{Verb: VerbDeleteCAS, Key: key, Index: index})
}

// DeleteTree removes every key under prefix.
func (t *Txn) DeleteTree(prefix string) {
	t.Ops = append(t.Ops, Op{Verb: VerbDeleteTree, Key: prefix})
}

// Len is the number of operations so far.
func (t *Txn) Len() int { return len(t.Ops) }

// Err is the first encoding error, if any.
func (t *Txn) Err() error { return t.err }

// Bytes is the size of the values written, for metrics.
func (t *Txn) Bytes() int {
	n := 0
	for _, op := range t.Ops {
		n += len(op.Key) + len(op.Value)
	}
	return n
}
