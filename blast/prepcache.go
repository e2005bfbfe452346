package blast

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/tracking"
)

// byteLRU is a cache bounded by the bytes its values hold: when the total
// exceeds max, the least recently used values are dropped, except pinned
// ones (in use: dropping them would free nothing). It is safe for
// concurrent use.
type byteLRU[V comparable] struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	ll    list.List // of *lruEntry[V], most recently used first
	byKey map[string]*list.Element
}

type lruEntry[V comparable] struct {
	key  string
	v    V
	size int64
	pins int
}

func newByteLRU[V comparable](max int64) *byteLRU[V] {
	return &byteLRU[V]{max: max, byKey: make(map[string]*list.Element)}
}

// get returns the value cached for key, marking it used, and pins it
// when pin is set (unpin releases it).
func (c *byteLRU[V]) get(key string, pin bool) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.ll.MoveToFront(el)
	en := el.Value.(*lruEntry[V])
	if pin {
		en.pins++
	}
	return en.v, true
}

// peek returns the value cached for key without marking it used.
func (c *byteLRU[V]) peek(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		return el.Value.(*lruEntry[V]).v, true
	}
	var zero V
	return zero, false
}

// put caches v of size bytes under key, pinned when pin is set, and
// returns the value now cached: the one already there when another
// goroutine put one first (v is then dropped, and the one returned is
// pinned instead). Least recently used values are evicted to keep the
// bound; a value larger than the bound alone is returned but not kept
// unless pinned, and dropped when unpinned.
func (c *byteLRU[V]) put(key string, v V, size int64, pin bool) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.ll.MoveToFront(el)
		en := el.Value.(*lruEntry[V])
		if pin {
			en.pins++
		}
		return en.v
	}
	if size > c.max && !pin {
		return v // would only flush everything else
	}
	en := &lruEntry[V]{key: key, v: v, size: size}
	if pin {
		en.pins = 1
	}
	c.byKey[key] = c.ll.PushFront(en)
	c.bytes += size
	c.evict()
	return v
}

// unpin releases one pin of the value cached under key, if v is still
// the one cached.
func (c *byteLRU[V]) unpin(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		if en := el.Value.(*lruEntry[V]); en.v == v && en.pins > 0 {
			en.pins--
			c.evict()
		}
	}
}

// remove drops key and returns the value it held.
func (c *byteLRU[V]) remove(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	en := el.Value.(*lruEntry[V])
	c.drop(el)
	return en.v, true
}

// evict drops unpinned values, least recently used first, until the
// total is within the bound or only pinned values are left.
func (c *byteLRU[V]) evict() {
	for el := c.ll.Back(); el != nil && c.bytes > c.max; {
		prev := el.Prev()
		if el.Value.(*lruEntry[V]).pins == 0 {
			c.drop(el)
		}
		el = prev
	}
}

func (c *byteLRU[V]) drop(el *list.Element) {
	en := el.Value.(*lruEntry[V])
	c.ll.Remove(el)
	delete(c.byKey, en.key)
	c.bytes -= en.size
}

// size returns the bytes cached and the number of values.
func (c *byteLRU[V]) size() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.ll.Len()
}

// CompiledCacheSize reports the compiled-blast cache: the bytes its
// blasts hold (bounded by Config.CompiledCacheBytes, see there) and how
// many blasts it holds. For monitoring and tests.
func (e *Engine) CompiledCacheSize() (bytes int64, blasts int) { return e.prepared.size() }

// preparedFor returns the compiled form of a blast being sent, from the
// cache or compiled (and cached). sb may lack its content (the scheduler
// lists blasts without it): it is read when the blast must be compiled.
// With pin, the blast stays cached until unpinPrepared.
func (e *Engine) preparedFor(ctx context.Context, sb *store.Blast, pin bool) (*prepared, error) {
	if p, ok := e.prepared.get(sb.ID, pin); ok {
		if !p.paused.Load() || sb.Status == store.BlastPaused {
			return p, nil
		}
		// Paused here, resumed by another process: compile afresh.
		e.prepared.unpin(sb.ID, p)
		e.prepared.remove(sb.ID)
	}
	if sb.Content == nil {
		full, err := e.blast(ctx, sb.OrgID, sb.ID)
		if err != nil {
			return nil, err
		}
		sb = &full
	}
	p, err := e.compile(ctx, sb, false)
	if err != nil {
		return nil, err
	}
	return e.prepared.put(sb.ID, p, p.bytes, pin), nil
}

// unpinPrepared unpins a blast preparedFor pinned.
func (e *Engine) unpinPrepared(p *prepared) { e.prepared.unpin(p.id, p) }

// forget drops what the engine keeps for a blast being sent, once it is
// completed: its compiled form and its sender-refusal count.
func (e *Engine) forget(blastID string) {
	e.prepared.remove(blastID)
	e.blockMu.Lock()
	delete(e.blocked, blastID)
	e.blockMu.Unlock()
}

// markCancelled tells this process's workers to stop sending the blast:
// the workers holding a batch of it hold it pinned, so it is cached.
func (e *Engine) markCancelled(blastID string) {
	if p, ok := e.prepared.peek(blastID); ok {
		p.cancelled.Store(true)
	}
	e.forget(blastID)
}

// markPaused tells this process's workers to stop sending the blast. The
// prepared blast stays cached, so a Cancel reaches the workers holding
// it; Resume drops it.
func (e *Engine) markPaused(blastID string) {
	if p, ok := e.prepared.peek(blastID); ok {
		p.paused.Store(true)
	}
	e.batches.fence(blastID, false) // also ends the workers' limiter waits
}

// linkSet is the link targets of a sent email, in link-index order: the
// email's, then its portal notice's (see prepared.links).
type linkSet struct{ urls []string }

// linkCacheBytes bounds the links kept for tracked clicks when the store
// has no link index (store.LinkIndex).
const linkCacheBytes = 4 << 20

// saveLinks records a compiled email's link targets in the store's link
// index, so that clicks never need the content.
func (e *Engine) saveLinks(ctx context.Context, p *prepared) error {
	li, ok := e.st.(store.LinkIndex)
	if !ok || p.email == nil {
		return nil
	}
	if err := li.SaveLinks(ctx, p.orgID, p.id, p.links()); err != nil {
		return fmt.Errorf("blast: saving the links of blast %s: %w", p.id, err)
	}
	return nil
}

// linkURL resolves link index of a sent email blast for a tracked
// click: from the store's link index (one small read), else from the
// bounded link cache; only a blast whose links were never indexed (sent
// before the index existed, or a store without one) is compiled, once,
// and only its links are kept.
func (e *Engine) linkURL(ctx context.Context, orgID, blastID string, index int) (string, error) {
	pick := func(links []string) (string, error) {
		if index < 0 || index >= len(links) {
			return "", fmt.Errorf("blast: link %d of blast %s: %w", index, blastID, tracking.ErrUnknownRecipient)
		}
		return links[index], nil
	}
	li, indexed := e.st.(store.LinkIndex)
	if indexed {
		links, err := li.Links(ctx, orgID, blastID)
		if err == nil {
			return pick(links)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("blast: %w", err)
		}
	} else if ls, ok := e.links.get(orgID+"/"+blastID, false); ok {
		return pick(ls.urls)
	}
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return "", err
	}
	if sb.Status == store.BlastDraft || sb.Channel != carecast.Email {
		return "", fmt.Errorf("blast: blast %s has no links: %w", sb.ID, tracking.ErrUnknownRecipient)
	}
	p, err := e.compile(ctx, &sb, false)
	if err != nil {
		return "", err
	}
	links := p.links()
	if indexed {
		if err := e.saveLinks(ctx, p); err != nil {
			e.log.Error("indexing links", "org", orgID, "blast", blastID, "err", err)
		}
	} else {
		size := int64(64)
		for _, u := range links {
			size += int64(len(u)) + 16
		}
		e.links.put(orgID+"/"+blastID, &linkSet{urls: links}, size, false)
	}
	return pick(links)
}
