package bridge

// queued is an event waiting on its conversation's shard, with what its processing needs. A burst
// leaves thousands of events waiting (20,000 in the load benchmark's burst), so it keeps few bytes:
// the conversation is the task's key, Data is a slice of pairs rather than the transport's map (a
// map of one key is about 340 bytes, its pairs 32), and the fields most events leave empty are kept
// in a copy of the event (rest) only when one of them is set. About 150 bytes for a data event
// instead of 580.
type queued struct {
	name, via   string
	fingerprint int64
	timestamp   int64
	data        []string // Data's keys and values, in pairs; nil when Data is empty or in rest
	rest        *Event   // the event's other fields, nil when every one of them is empty
	inboxID     string   // the event's durable inbox entry, removed once processed
	tries       int      // earlier attempts at processing the event in this process
	replay      bool     // the entry is replayed from the inbox (after a restart, a takeover, a retry)
}

// queue returns ev as it waits on its shard. It keeps ev's strings and what its pointers point to,
// but not ev itself nor its Data map.
func queue(ev *Event, inboxID string) *queued {
	q := &queued{name: ev.Name, via: ev.Via, fingerprint: ev.Fingerprint, timestamp: ev.Timestamp, inboxID: inboxID}
	rest := *ev
	rest.Name, rest.Via, rest.WebsiteID, rest.SessionID, rest.Fingerprint, rest.Timestamp = "", "", "", "", 0, 0
	if len(ev.Data) > 0 {
		q.data = make([]string, 0, 2*len(ev.Data))
		for k, v := range ev.Data {
			q.data = append(q.data, k, v)
		}
		rest.Data = nil
	}
	if !restEmpty(&rest) {
		q.rest = new(Event)
		*q.rest = rest
	}
	return q
}

// restEmpty reports whether every field of ev that queued keeps in rest is empty (a non-nil empty
// Data or Segments is not: rest keeps it as it is).
func restEmpty(ev *Event) bool {
	return ev.Message == nil && ev.Data == nil && ev.State == "" && ev.Segments == nil && ev.RoutedTo == "" &&
		ev.Email == "" && ev.Typing == "" && ev.PageURL == "" && ev.Available == nil && ev.OperatorID == "" &&
		ev.OperatorType == ""
}

// event returns the queued event of the conversation key, equal to the one queued (its Data a map
// of its own).
func (q *queued) event(key Key) Event {
	var ev Event
	if q.rest != nil {
		ev = *q.rest
	}
	ev.Name, ev.Via, ev.WebsiteID, ev.SessionID, ev.Fingerprint, ev.Timestamp = q.name, q.via, key.WebsiteID, key.SessionID, q.fingerprint, q.timestamp
	if q.data != nil {
		ev.Data = make(map[string]string, len(q.data)/2)
		for i := 0; i < len(q.data); i += 2 {
			ev.Data[q.data[i]] = q.data[i+1]
		}
	}
	return ev
}

// replayed returns ev, accepted earlier as inbox entry inboxID, as it waits to be processed again
// after tries attempts in this process.
func replayed(ev *Event, inboxID string, tries int) *queued {
	q := queue(ev, inboxID)
	q.replay, q.tries = true, tries
	return q
}
