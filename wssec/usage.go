package wssec

// recordUses records one use of every ring key that decrypted something and
// of every trust ring certificate that verified a signature, each with its
// ring's clock. Decrypt calls it only when the whole call succeeded,
// requirements included: rollover reads this evidence to decide whether a
// retained key is still in use, and a message that is refused (a bad
// signature, an unmet requirement) must not be able to postpone a key's
// removal.
func (p *process) recordUses(sigs *sigState) {
	for _, e := range p.usedEntries {
		p.ring.recordUse(e)
	}
	if sigs == nil {
		return
	}
	for _, e := range sigs.uses {
		sigs.trust.ring().recordUse(e)
	}
}
