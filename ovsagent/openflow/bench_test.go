package openflow_test

import (
	"bufio"
	"io"
	"testing"

	"github.com/ovsnet/ovsnet/ovsagent/openflow"
)

const benchFlows = 100000

// BenchmarkEncodeBundle100k encodes a bundle of 100,000 flow adds the way
// ofconn sends it: each BUNDLE_ADD_MESSAGE appended to the free space of a
// bufio.Writer.
func BenchmarkEncodeBundle100k(b *testing.B) {
	fs := manyFlows(benchFlows)
	w := bufio.NewWriterSize(io.Discard, 256<<10)
	flags := openflow.BundleAtomic | openflow.BundleOrdered
	var total int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		total = 0
		for i, f := range fs {
			msg, err := openflow.AppendBundleFlowMod(w.AvailableBuffer(), uint32(i+1), 1, flags, openflow.AddFlow(f))
			if err != nil {
				b.Fatal(err)
			}
			total += len(msg)
			w.Write(msg)
		}
		w.Flush()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchFlows), "ns/flowmod")
	b.ReportMetric(float64(total)/(1<<20), "MiB/bundle")
}

// BenchmarkDecodeFlowStats100k decodes a dump of 100,000 flows.
func BenchmarkDecodeFlowStats100k(b *testing.B) {
	fs := manyFlows(benchFlows)
	var replies [][]byte
	for i := 0; i < len(fs); i += 100 {
		msg, err := openflow.AppendFlowStatsReply(nil, 1, i+100 < len(fs), fs[i:min(i+100, len(fs))])
		if err != nil {
			b.Fatal(err)
		}
		replies = append(replies, msg)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var out []openflow.DumpedFlow
		for _, r := range replies {
			var err error
			if out, _, err = openflow.DecodeFlowStatsReply(out, r); err != nil {
				b.Fatal(err)
			}
		}
		if len(out) != benchFlows || out[benchFlows-1].Err != nil {
			b.Fatal("bad dump")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchFlows), "ns/flow")
}
