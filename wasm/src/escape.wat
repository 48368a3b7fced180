;; Tries to leave its preopen (fd 3, the first volume) and reports what it
;; could do, one line per attempt, for the sandbox tests:
;;   1. creates the symlink chain `d -> .` and `root -> d/d/.../../..` (eight
;;      levels each way: lexically inside fd 3, physically the host's `/`);
;;   2. for each argument after argv[0]:
;;        R:<path>  open <path> under fd 3 and print its first bytes
;;        W:<path>  create <path> under fd 3 and write "pwned"
;;        L:<path>  hard-link <path> to `hl` under fd 3, then read `hl`
;;      printing "<arg> -> OK <bytes>" or "<arg> -> ERR <errno>".
;; Paths may use the chain (`root/...`), `..` or be absolute.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link" (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; 0: iovec, 8: nwritten/nread, 12: opened fd, 16: argc, 20: argv buf size
  ;; 64..: constant strings; 1024: argv pointers; 4096: argv strings; 32768: read buffer; 33024: number text
  (data (i32.const 64) ".")             ;; 64, len 1
  (data (i32.const 72) "d")             ;; 72, len 1
  (data (i32.const 184) "d/d/d/d/d/d/d/d/../../../../../../../..") ;; 184, len 39
  (data (i32.const 96) "root")          ;; 96, len 4
  (data (i32.const 104) " -> OK ")      ;; 104, len 7
  (data (i32.const 112) " -> ERR ")     ;; 112, len 8
  (data (i32.const 128) "\n")           ;; 128, len 1
  (data (i32.const 136) "symlink d")    ;; 136, len 9
  (data (i32.const 152) "symlink root") ;; 152, len 12
  (data (i32.const 168) "pwned\n")      ;; 168, len 6
  (data (i32.const 176) "hl")           ;; 176, len 2

  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $print_num (param $n i32)
    (local $p i32)
    (local.set $p (i32.const 33040))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (local.get $n)))
    (call $print (local.get $p) (i32.sub (i32.const 33040) (local.get $p))))

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $scan
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $scan)))
    (local.get $n))

  ;; "<label> -> ERR <errno>\n" or "<label> -> OK " (the caller prints the rest); returns errno.
  (func $report (param $label i32) (param $len i32) (param $errno i32) (result i32)
    (call $print (local.get $label) (local.get $len))
    (if (local.get $errno)
      (then
        (call $print (i32.const 112) (i32.const 8))
        (call $print_num (local.get $errno))
        (call $print (i32.const 128) (i32.const 1)))
      (else (call $print (i32.const 104) (i32.const 7))))
    (local.get $errno))

  ;; Open path under fd 3 for reading and print up to 64 bytes of it.
  (func $read_file (param $label i32) (param $llen i32) (param $path i32) (param $len i32)
    (local $fd i32)
    (if (call $report (local.get $label) (local.get $llen)
          (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
            (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 12)))
      (then (return)))
    (local.set $fd (i32.load (i32.const 12)))
    (i32.store (i32.const 0) (i32.const 32768))
    (i32.store (i32.const 4) (i32.const 64))
    (drop (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $print (i32.const 32768) (i32.load (i32.const 8)))
    (call $print (i32.const 128) (i32.const 1))
    (drop (call $fd_close (local.get $fd))))

  (func $write_file (param $label i32) (param $llen i32) (param $path i32) (param $len i32)
    (local $fd i32)
    ;; oflags CREAT|TRUNC, rights FD_WRITE
    (if (call $report (local.get $label) (local.get $llen)
          (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
            (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 12)))
      (then (return)))
    (local.set $fd (i32.load (i32.const 12)))
    (i32.store (i32.const 0) (i32.const 168))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $print (i32.const 168) (i32.const 6))
    (drop (call $fd_close (local.get $fd))))

  (func $link_file (param $label i32) (param $llen i32) (param $path i32) (param $len i32)
    (local $errno i32)
    (local.set $errno
      (call $path_link (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
        (i32.const 3) (i32.const 176) (i32.const 2)))
    (if (local.get $errno)
      (then (drop (call $report (local.get $label) (local.get $llen) (local.get $errno))) (return)))
    (call $read_file (local.get $label) (local.get $llen) (i32.const 176) (i32.const 2)))

  (func (export "_start")
    (local $argc i32) (local $i i32) (local $arg i32) (local $len i32) (local $kind i32)
    (drop (call $report (i32.const 136) (i32.const 9)
      (call $path_symlink (i32.const 64) (i32.const 1) (i32.const 3) (i32.const 72) (i32.const 1))))
    (call $print (i32.const 128) (i32.const 1))
    (drop (call $report (i32.const 152) (i32.const 12)
      (call $path_symlink (i32.const 184) (i32.const 39) (i32.const 3) (i32.const 96) (i32.const 4))))
    (call $print (i32.const 128) (i32.const 1))
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (local.set $argc (i32.load (i32.const 16)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (local.set $i (i32.const 1))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
        (local.set $arg (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))
        (local.set $len (call $strlen (local.get $arg)))
        (local.set $kind (i32.load8_u (local.get $arg)))
        (if (i32.gt_u (local.get $len) (i32.const 2))
          (then
            (if (i32.eq (local.get $kind) (i32.const 82)) ;; R
              (then (call $read_file (local.get $arg) (local.get $len)
                      (i32.add (local.get $arg) (i32.const 2)) (i32.sub (local.get $len) (i32.const 2)))))
            (if (i32.eq (local.get $kind) (i32.const 87)) ;; W
              (then (call $write_file (local.get $arg) (local.get $len)
                      (i32.add (local.get $arg) (i32.const 2)) (i32.sub (local.get $len) (i32.const 2)))))
            (if (i32.eq (local.get $kind) (i32.const 76)) ;; L
              (then (call $link_file (local.get $arg) (local.get $len)
                      (i32.add (local.get $arg) (i32.const 2)) (i32.sub (local.get $len) (i32.const 2)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))))
