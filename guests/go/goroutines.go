// A multi-threaded Go program for ringvisor: the Go runtime starts OS threads
// (clone), parks them on futexes, preempts goroutines with SIGURG (tgkill) on
// alternate signal stacks, sleeps through its epoll netpoller, and manages
// its heap with mmap and madvise. Every line printed is independent of how
// goroutines and threads interleave, so the output equals qemu-riscv64's.
//
//	go-goroutines.elf [section...]   run the named sections (default: all)
//	go-goroutines.elf panic          an unrecovered panic: exit status 2
//	go-goroutines.elf exit           os.Exit(3) from a goroutine
//	go-goroutines.elf deadlock       the runtime detects a deadlock: status 2
//	go-goroutines.elf procs          prints GOMAXPROCS (set it in the environment)
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sum: a parallel computation split over many goroutines, joined with a
// WaitGroup, partial results combined under a Mutex.
func sum() {
	const workers = 64
	const per = 20000
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := uint64(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := uint64(0)
			for i := w * per; i < (w+1)*per; i++ {
				s += uint64(i) * uint64(i) % 1000003
			}
			mu.Lock()
			total += s
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	fmt.Printf("sum: %d workers, total %d\n", workers, total)
}

// channels: an unbuffered pipeline of three stages and a buffered fan-in.
func channels() {
	src := make(chan int)
	sq := make(chan int)
	out := make(chan int)
	go func() {
		for i := 1; i <= 100; i++ {
			src <- i
		}
		close(src)
	}()
	go func() {
		for v := range src {
			sq <- v * v
		}
		close(sq)
	}()
	go func() {
		s := 0
		for v := range sq {
			s += v
		}
		out <- s
	}()
	fmt.Printf("channels: pipeline sum of squares 1..100 = %d\n", <-out)

	results := make(chan string, 16)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results <- fmt.Sprintf("r%02d", i)
		}(i)
	}
	wg.Wait()
	close(results)
	var got []string
	for r := range results {
		got = append(got, r)
	}
	sort.Strings(got)
	fmt.Printf("channels: buffered fan-in %d results, first %s last %s (cap %d)\n", len(got), got[0], got[len(got)-1], cap(results))
}

// timers: time.Sleep, select with a time.After timeout that fires and one
// that does not, a Ticker; waits the netpoller serves.
func timers() {
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	slept := time.Since(start)
	fmt.Printf("timers: slept at least 20ms: %v\n", slept >= 20*time.Millisecond)

	never := make(chan int)
	select {
	case v := <-never:
		fmt.Println("timers: unexpected value", v)
	case <-time.After(30 * time.Millisecond):
		fmt.Println("timers: select timed out on a silent channel")
	}

	soon := make(chan string)
	go func() {
		time.Sleep(5 * time.Millisecond)
		soon <- "ready"
	}()
	select {
	case v := <-soon:
		fmt.Println("timers: select received", v, "before its timeout")
	case <-time.After(10 * time.Second):
		fmt.Println("timers: select timed out (unexpected)")
	}

	t := time.NewTicker(2 * time.Millisecond)
	ticks := 0
	for range t.C {
		ticks++
		if ticks == 5 {
			break
		}
	}
	t.Stop()
	fmt.Printf("timers: %d ticks\n", ticks)

	// Many goroutines sleeping at once: all wake, none before its time.
	var early int32
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := time.Duration(1+i%10) * time.Millisecond
			t0 := time.Now()
			time.Sleep(d)
			if time.Since(t0) < d {
				atomic.AddInt32(&early, 1)
			}
		}(i)
	}
	wg.Wait()
	fmt.Printf("timers: 50 sleepers woke, %d early, all within the longest: %v\n", early, time.Since(begin) >= 10*time.Millisecond)
}

type node struct {
	next *node
	data [64]byte
}

// gc: garbage collection under allocation pressure, with finalizer-free
// checks that the live data survived.
func gc() {
	var keep []*node
	for round := 0; round < 10; round++ {
		var head *node
		for i := 0; i < 5000; i++ {
			head = &node{next: head}
			head.data[0] = byte(i)
		}
		if round%5 == 0 {
			keep = append(keep, head)
		}
		_ = make([]byte, 256<<10)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := 0
	for _, h := range keep {
		for p := h; p != nil; p = p.next {
			n++
		}
	}
	fmt.Printf("gc: %d live nodes kept, collections ran: %v\n", n, after.NumGC > before.NumGC && after.NumGC >= 1)
}

// maps: a map filled by goroutines under a Mutex, a sync.Map, sorted output.
func maps() {
	m := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := fmt.Sprintf("k%d", (i*7+g)%300)
				mu.Lock()
				m[k]++
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	keys := make([]string, 0, len(m))
	total := 0
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	var sm sync.Map
	for i := 0; i < 10; i++ {
		sm.Store(i, i*i)
	}
	v, _ := sm.Load(7)
	fmt.Printf("maps: %d keys, %d increments, first %s last %s, sync.Map[7] = %v\n", len(keys), total, keys[0], keys[len(keys)-1], v)
}

// recovered: a panic in a goroutine, recovered there; a runtime error
// (index out of range) recovered in main.
func recovered() {
	done := make(chan string)
	go func() {
		defer func() { done <- fmt.Sprint("recovered: ", recover()) }()
		panic("deliberate")
	}()
	fmt.Println(<-done)
	func() {
		defer func() {
			r := recover()
			err, ok := r.(runtime.Error)
			fmt.Println("recovered: runtime error:", ok, err)
		}()
		var s []int
		i := 3
		_ = s[i]
	}()
	var target *os.PathError
	_, err := os.Open("/no/such/file")
	fmt.Println("recovered: open error is a PathError:", errors.As(err, &target), errors.Is(err, os.ErrNotExist))
}

// preempt: with one P, a goroutine spinning in a loop without calls can only
// be stopped by asynchronous preemption (sysmon's SIGURG); main then runs
// again.
func preempt() {
	old := runtime.GOMAXPROCS(1)
	var stop int32
	var spins uint64
	started := make(chan bool)
	go func() {
		started <- true
		for atomic.LoadInt32(&stop) == 0 {
			spins++
		}
	}()
	<-started
	// The spinning goroutine holds the only P: this Sleep ends only if the
	// runtime preempts it.
	time.Sleep(15 * time.Millisecond)
	atomic.StoreInt32(&stop, 1)
	runtime.GOMAXPROCS(old)
	fmt.Println("preempt: main ran again while a goroutine spun:", spins > 0)
}

// files: os.WriteFile / os.ReadFile in the working directory, a directory
// listing, and a pipe read through the netpoller.
func files() {
	name := "go-roundtrip.txt"
	text := strings.Repeat("ringvisor ", 50) + "\n"
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		fmt.Println("files: write failed:", err)
		return
	}
	back, err := os.ReadFile(name)
	fmt.Printf("files: read back %d bytes, equal %v, err %v\n", len(back), string(back) == text, err)
	st, _ := os.Stat(name)
	fmt.Printf("files: stat size %d mode %v\n", st.Size(), st.Mode())
	os.Remove(name)
	_, err = os.Stat(name)
	fmt.Println("files: removed:", errors.Is(err, os.ErrNotExist))

	// os.Pipe descriptors are non-blocking and wait in the netpoller.
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println("files: pipe failed:", err)
		return
	}
	go func() {
		for i := 0; i < 5; i++ {
			time.Sleep(2 * time.Millisecond)
			fmt.Fprintf(w, "line %d\n", i)
		}
		w.Close()
	}()
	all, err := io.ReadAll(r)
	r.Close()
	fmt.Printf("files: pipe carried %q, err %v\n", string(all), err)

	// A read with a deadline that passes: the netpoller's timer.
	r2, w2, _ := os.Pipe()
	r2.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	buf := make([]byte, 8)
	_, err = r2.Read(buf)
	fmt.Println("files: read past its deadline:", errors.Is(err, os.ErrDeadlineExceeded))
	r2.Close()
	w2.Close()
}

// stack: deep recursion in a goroutine grows (copies) its stack many times.
func depth(n int) int {
	var pad [16]int
	pad[n%16] = n
	if n == 0 {
		return 0
	}
	return depth(n-1) + 1 + pad[n%16] - n
}

func stack() {
	r := make(chan int)
	go func() { r <- depth(20000) }()
	fmt.Println("stack: recursion depth reached", <-r)
}

// procs: GOMAXPROCS as the environment set it (NumCPU is the host's under
// qemu-riscv64, so it is not printed).
func procs() {
	fmt.Println("procs: GOMAXPROCS", runtime.GOMAXPROCS(0))
}

// args: os.Args and the environment.
func args() {
	fmt.Printf("args: %d arguments after the program: %q\n", len(os.Args)-1, os.Args[1:])
	fmt.Printf("args: GREETING=%q, HOME set: %v\n", os.Getenv("GREETING"), os.Getenv("HOME") != "")
	wd, err := os.Getwd()
	fmt.Println("args: working directory known:", wd != "" && err == nil)
}

// stdin: everything on standard input.
func stdin() {
	data, err := io.ReadAll(os.Stdin)
	fmt.Printf("stdin: %d bytes, %d lines, err %v\n", len(data), strings.Count(string(data), "\n"), err)
}

func deliberatePanic() {
	fmt.Println("about to panic")
	panic(fmt.Sprintf("unrecovered panic number %d", 42))
}

// exitFromGoroutine: os.Exit in a goroutine while main waits; deferred
// calls do not run.
func exitFromGoroutine() {
	defer fmt.Println("exit: deferred call ran (unexpected)")
	go func() {
		time.Sleep(time.Millisecond)
		fmt.Println("exit: a goroutine calls os.Exit(3)")
		os.Exit(3)
	}()
	select {}
}

// deadlock: every goroutine blocked: the runtime's own deadlock detector
// ends the program (status 2).
func deadlock() {
	fmt.Println("deadlock: main waits on a channel nobody sends to")
	ch := make(chan int)
	<-ch
}

var sections = []struct {
	name string
	run  func()
}{
	{"sum", sum}, {"channels", channels}, {"timers", timers}, {"gc", gc}, {"maps", maps},
	{"recovered", recovered}, {"preempt", preempt}, {"stack", stack}, {"files", files}, {"args", args},
	{"stdin", stdin},
}

func main() {
	want := os.Args[1:]
	if len(want) == 1 {
		switch want[0] {
		case "panic":
			deliberatePanic()
		case "exit":
			exitFromGoroutine()
		case "deadlock":
			deadlock()
		case "procs":
			procs()
			return
		}
	}
	for _, s := range sections {
		if len(want) > 0 {
			found := false
			for _, w := range want {
				found = found || w == s.name
			}
			if !found {
				continue
			}
		}
		s.run()
	}
	fmt.Println("done")
}
