;; The course's own WebAssembly SIMD loops on the tfjs wasm backend's heap: matrix products that
;; the stock kernels run slowly, and the copies and sums around them.
;;
;; Why: multi-head attention multiplies many tiny matrices ([B*H] slices of [T, T] x [T, Dh], with
;; T ~ 25 and Dh = 8 here). The stock tfjs-backend-wasm kernel runs such batches in a scalar loop
;; at ~1.5 GFLOP/s, and one XNNPACK call per slice costs more in overhead than it saves; bmm_nn
;; and bmm_nt run them at 10-14 GFLOP/s. Weight gradients X^T dY are large products that XNNPACK
;; runs at 7-15 GFLOP/s, because it needs the transposed X copied and packs dY anew on every call;
;; gemm reads X^T in place, in register tiles, at 17-30 GFLOP/s. copy_runs, add_runs and sum_rows
;; replace JavaScript loops (head transposes, convolution patches, bias gradients) that cost
;; several nanoseconds per float.
;;
;; The module imports the backend's memory, so it reads and writes tensors where they are: every
;; pointer is a byte offset in that heap, every stride is in bytes. The output C of a product is
;; contiguous, [batch, M, N]; the batch stride of an operand is 0 when it is broadcast.
;;
;; Built into src/backend/small-matmul-wasm.ts by `npm run build:wasm` (wat2wasm, Debian's wabt),
;; twice: as written, and with gemm's eight tile multiply-adds replaced by Relaxed SIMD's fused
;; f32x4.relaxed_madd (tools/build-wasm.ts), which the library uses where V8 runs it.
(module
  (import "env" "memory" (memory 1))

  ;; C[i] = A[i] B[i] with B's rows contiguous: 4 columns of a row of C at a time, each the sum
  ;; over k of A[m, k] (any layout: rowA + k * aCol, so a transposed A costs nothing) times
  ;; B[k, n:n+4]. Columns past the last multiple of 4 are summed one by one.
  (func (export "bmm_nn")
    (param $a i32) (param $b i32) (param $c i32) (param $batch i32)
    (param $M i32) (param $K i32) (param $N i32)
    (param $aBatch i32) (param $aRow i32) (param $aCol i32)
    (param $bBatch i32) (param $bRow i32)
    (local $i i32) (local $m i32) (local $n i32) (local $k i32) (local $N4 i32)
    (local $pa i32) (local $pb i32) (local $rowA i32) (local $pA i32) (local $pB i32)
    (local $acc v128) (local $s f32)
    (local.set $N4 (i32.and (local.get $N) (i32.const -4)))
    (block $doneI (loop $eachI
      (br_if $doneI (i32.ge_u (local.get $i) (local.get $batch)))
      (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $aBatch))))
      (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $i) (local.get $bBatch))))
      (local.set $m (i32.const 0))
      (block $doneM (loop $eachM
        (br_if $doneM (i32.ge_u (local.get $m) (local.get $M)))
        (local.set $rowA (i32.add (local.get $pa) (i32.mul (local.get $m) (local.get $aRow))))
        (local.set $n (i32.const 0))
        ;; four columns at a time
        (block $doneN (loop $eachN
          (br_if $doneN (i32.ge_u (local.get $n) (local.get $N4)))
          (local.set $acc (v128.const f32x4 0 0 0 0))
          (local.set $pA (local.get $rowA))
          (local.set $pB (i32.add (local.get $pb) (i32.shl (local.get $n) (i32.const 2))))
          (local.set $k (local.get $K))
          (block $doneK (loop $eachK
            (br_if $doneK (i32.eqz (local.get $k)))
            (local.set $acc
              (f32x4.add (local.get $acc)
                (f32x4.mul (f32x4.splat (f32.load (local.get $pA))) (v128.load (local.get $pB)))))
            (local.set $pA (i32.add (local.get $pA) (local.get $aCol)))
            (local.set $pB (i32.add (local.get $pB) (local.get $bRow)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $eachK)))
          (v128.store (local.get $c) (local.get $acc))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (local.set $n (i32.add (local.get $n) (i32.const 4)))
          (br $eachN)))
        ;; the last N mod 4 columns
        (block $doneTail (loop $eachTail
          (br_if $doneTail (i32.ge_u (local.get $n) (local.get $N)))
          (local.set $s (f32.const 0))
          (local.set $pA (local.get $rowA))
          (local.set $pB (i32.add (local.get $pb) (i32.shl (local.get $n) (i32.const 2))))
          (local.set $k (local.get $K))
          (block $doneK1 (loop $eachK1
            (br_if $doneK1 (i32.eqz (local.get $k)))
            (local.set $s
              (f32.add (local.get $s) (f32.mul (f32.load (local.get $pA)) (f32.load (local.get $pB)))))
            (local.set $pA (i32.add (local.get $pA) (local.get $aCol)))
            (local.set $pB (i32.add (local.get $pB) (local.get $bRow)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $eachK1)))
          (f32.store (local.get $c) (local.get $s))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $eachTail)))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br $eachM)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $eachI))))

  ;; C[i] = A[i] B[i]^T with the rows of A and of B contiguous (B stored [N, K]), as in Q K^T:
  ;; each C[m, n] is a dot product of two rows, 4 terms at a time. When K is a multiple of 4,
  ;; 4 columns of C share each load of A: 4 accumulators, summed lane-wise into one vector by
  ;; shuffles. Other columns (and every column when K is not a multiple of 4) one at a time,
  ;; the last K mod 4 terms scalar.
  (func (export "bmm_nt")
    (param $a i32) (param $b i32) (param $c i32) (param $batch i32)
    (param $M i32) (param $K i32) (param $N i32)
    (param $aBatch i32) (param $aRow i32) (param $bBatch i32) (param $bRow i32)
    (local $i i32) (local $m i32) (local $n i32) (local $k i32) (local $K4 i32)
    (local $pa i32) (local $pb i32) (local $rowA i32) (local $pA i32) (local $pB i32)
    (local $acc v128) (local $s f32) (local $N4 i32)
    (local $pB1 i32) (local $pB2 i32) (local $pB3 i32) (local $va v128)
    (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $x v128) (local $y v128)
    (local.set $K4 (i32.shr_u (local.get $K) (i32.const 2)))
    (local.set $N4
      (select (i32.and (local.get $N) (i32.const -4)) (i32.const 0)
        (i32.eqz (i32.and (local.get $K) (i32.const 3)))))
    (block $doneI (loop $eachI
      (br_if $doneI (i32.ge_u (local.get $i) (local.get $batch)))
      (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $aBatch))))
      (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $i) (local.get $bBatch))))
      (local.set $m (i32.const 0))
      (block $doneM (loop $eachM
        (br_if $doneM (i32.ge_u (local.get $m) (local.get $M)))
        (local.set $rowA (i32.add (local.get $pa) (i32.mul (local.get $m) (local.get $aRow))))
        (local.set $n (i32.const 0))
        ;; four columns at a time (K a multiple of 4)
        (block $done4 (loop $each4
          (br_if $done4 (i32.ge_u (local.get $n) (local.get $N4)))
          (local.set $acc (v128.const f32x4 0 0 0 0))
          (local.set $acc1 (v128.const f32x4 0 0 0 0))
          (local.set $acc2 (v128.const f32x4 0 0 0 0))
          (local.set $acc3 (v128.const f32x4 0 0 0 0))
          (local.set $pA (local.get $rowA))
          (local.set $pB (i32.add (local.get $pb) (i32.mul (local.get $n) (local.get $bRow))))
          (local.set $pB1 (i32.add (local.get $pB) (local.get $bRow)))
          (local.set $pB2 (i32.add (local.get $pB1) (local.get $bRow)))
          (local.set $pB3 (i32.add (local.get $pB2) (local.get $bRow)))
          (local.set $k (local.get $K4))
          (block $doneK4 (loop $eachK4
            (br_if $doneK4 (i32.eqz (local.get $k)))
            (local.set $va (v128.load (local.get $pA)))
            (local.set $acc
              (f32x4.add (local.get $acc) (f32x4.mul (local.get $va) (v128.load (local.get $pB)))))
            (local.set $acc1
              (f32x4.add (local.get $acc1) (f32x4.mul (local.get $va) (v128.load (local.get $pB1)))))
            (local.set $acc2
              (f32x4.add (local.get $acc2) (f32x4.mul (local.get $va) (v128.load (local.get $pB2)))))
            (local.set $acc3
              (f32x4.add (local.get $acc3) (f32x4.mul (local.get $va) (v128.load (local.get $pB3)))))
            (local.set $pA (i32.add (local.get $pA) (i32.const 16)))
            (local.set $pB (i32.add (local.get $pB) (i32.const 16)))
            (local.set $pB1 (i32.add (local.get $pB1) (i32.const 16)))
            (local.set $pB2 (i32.add (local.get $pB2) (i32.const 16)))
            (local.set $pB3 (i32.add (local.get $pB3) (i32.const 16)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $eachK4)))
          ;; x = [a0+a2, a1+a3, b0+b2, b1+b3] from acc (a) and acc1 (b), y the same from acc2 and
          ;; acc3, then [a, b, c, d] = the even lanes of (x, y) plus the odd ones
          (local.set $x
            (f32x4.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                (local.get $acc) (local.get $acc1))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                (local.get $acc) (local.get $acc1))))
          (local.set $y
            (f32x4.add
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                (local.get $acc2) (local.get $acc3))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31
                (local.get $acc2) (local.get $acc3))))
          (v128.store (local.get $c)
            (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $x) (local.get $y))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $x) (local.get $y))))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (local.set $n (i32.add (local.get $n) (i32.const 4)))
          (br $each4)))
        ;; the other columns one at a time
        (block $doneN (loop $eachN
          (br_if $doneN (i32.ge_u (local.get $n) (local.get $N)))
          (local.set $acc (v128.const f32x4 0 0 0 0))
          (local.set $pA (local.get $rowA))
          (local.set $pB (i32.add (local.get $pb) (i32.mul (local.get $n) (local.get $bRow))))
          (local.set $k (local.get $K4))
          (block $doneK (loop $eachK
            (br_if $doneK (i32.eqz (local.get $k)))
            (local.set $acc
              (f32x4.add (local.get $acc)
                (f32x4.mul (v128.load (local.get $pA)) (v128.load (local.get $pB)))))
            (local.set $pA (i32.add (local.get $pA) (i32.const 16)))
            (local.set $pB (i32.add (local.get $pB) (i32.const 16)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $eachK)))
          (local.set $s
            (f32.add
              (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
              (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
          (local.set $k (i32.and (local.get $K) (i32.const 3)))
          (block $doneK1 (loop $eachK1
            (br_if $doneK1 (i32.eqz (local.get $k)))
            (local.set $s
              (f32.add (local.get $s) (f32.mul (f32.load (local.get $pA)) (f32.load (local.get $pB)))))
            (local.set $pA (i32.add (local.get $pA) (i32.const 4)))
            (local.set $pB (i32.add (local.get $pB) (i32.const 4)))
            (local.set $k (i32.sub (local.get $k) (i32.const 1)))
            (br $eachK1)))
          (f32.store (local.get $c) (local.get $s))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $eachN)))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br $eachM)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $eachI))))

  ;; C[0:4, 0:8] += A[0:4, 0:kc] B[0:kc, 0:8] for one tile of C held in 8 registers while k runs:
  ;; per k, two loads of B's row segment, four of A's column, and 8 multiplies and 8 adds on
  ;; independent accumulators (a single accumulator would wait on the latency of every add).
  (func $tile
    (param $pa i32) (param $pb i32) (param $pc i32) (param $kc i32)
    (param $aRow i32) (param $aCol i32) (param $bRow i32) (param $cRow i32)
    (local $pa1 i32) (local $pa2 i32) (local $pa3 i32)
    (local $pc1 i32) (local $pc2 i32) (local $pc3 i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local.set $pa1 (i32.add (local.get $pa) (local.get $aRow)))
    (local.set $pa2 (i32.add (local.get $pa1) (local.get $aRow)))
    (local.set $pa3 (i32.add (local.get $pa2) (local.get $aRow)))
    (local.set $pc1 (i32.add (local.get $pc) (local.get $cRow)))
    (local.set $pc2 (i32.add (local.get $pc1) (local.get $cRow)))
    (local.set $pc3 (i32.add (local.get $pc2) (local.get $cRow)))
    (local.set $c00 (v128.load (local.get $pc)))
    (local.set $c01 (v128.load offset=16 (local.get $pc)))
    (local.set $c10 (v128.load (local.get $pc1)))
    (local.set $c11 (v128.load offset=16 (local.get $pc1)))
    (local.set $c20 (v128.load (local.get $pc2)))
    (local.set $c21 (v128.load offset=16 (local.get $pc2)))
    (local.set $c30 (v128.load (local.get $pc3)))
    (local.set $c31 (v128.load offset=16 (local.get $pc3)))
    (block $doneK (loop $eachK
      (br_if $doneK (i32.eqz (local.get $kc)))
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $x (f32x4.splat (f32.load (local.get $pa))))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (f32x4.splat (f32.load (local.get $pa1))))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (f32x4.splat (f32.load (local.get $pa2))))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (f32x4.splat (f32.load (local.get $pa3))))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $pa (i32.add (local.get $pa) (local.get $aCol)))
      (local.set $pa1 (i32.add (local.get $pa1) (local.get $aCol)))
      (local.set $pa2 (i32.add (local.get $pa2) (local.get $aCol)))
      (local.set $pa3 (i32.add (local.get $pa3) (local.get $aCol)))
      (local.set $pb (i32.add (local.get $pb) (local.get $bRow)))
      (local.set $kc (i32.sub (local.get $kc) (i32.const 1)))
      (br $eachK)))
    (v128.store (local.get $pc) (local.get $c00))
    (v128.store offset=16 (local.get $pc) (local.get $c01))
    (v128.store (local.get $pc1) (local.get $c10))
    (v128.store offset=16 (local.get $pc1) (local.get $c11))
    (v128.store (local.get $pc2) (local.get $c20))
    (v128.store offset=16 (local.get $pc2) (local.get $c21))
    (v128.store (local.get $pc3) (local.get $c30))
    (v128.store offset=16 (local.get $pc3) (local.get $c31)))

  ;; C[0:rows, 0:cols] += A[0:rows, 0:kc] B[0:kc, 0:cols], one element at a time: the rows and
  ;; columns that do not fill a whole tile.
  (func $edge
    (param $pa i32) (param $pb i32) (param $pc i32) (param $rows i32) (param $kc i32)
    (param $cols i32) (param $aRow i32) (param $aCol i32) (param $bRow i32) (param $cRow i32)
    (local $m i32) (local $n i32) (local $k i32) (local $pA i32) (local $pB i32) (local $at i32)
    (local $s f32)
    (block $doneM (loop $eachM
      (br_if $doneM (i32.ge_u (local.get $m) (local.get $rows)))
      (local.set $n (i32.const 0))
      (block $doneN (loop $eachN
        (br_if $doneN (i32.ge_u (local.get $n) (local.get $cols)))
        (local.set $at
          (i32.add (i32.add (local.get $pc) (i32.mul (local.get $m) (local.get $cRow)))
            (i32.shl (local.get $n) (i32.const 2))))
        (local.set $s (f32.load (local.get $at)))
        (local.set $pA (i32.add (local.get $pa) (i32.mul (local.get $m) (local.get $aRow))))
        (local.set $pB (i32.add (local.get $pb) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $k (local.get $kc))
        (block $doneK (loop $eachK
          (br_if $doneK (i32.eqz (local.get $k)))
          (local.set $s
            (f32.add (local.get $s) (f32.mul (f32.load (local.get $pA)) (f32.load (local.get $pB)))))
          (local.set $pA (i32.add (local.get $pA) (local.get $aCol)))
          (local.set $pB (i32.add (local.get $pB) (local.get $bRow)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br $eachK)))
        (f32.store (local.get $at) (local.get $s))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $eachN)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $eachM))))

  ;; C += A B for one larger matrix, C contiguous [M, N] (the caller zeroes it), A in any layout
  ;; (A[m, k] at a + m * aRow + k * aCol: a transposed A, as in the weight gradient X^T dY, is
  ;; read in place), B's rows contiguous. k runs in blocks of 256 terms, so that the part of A
  ;; and of B a block reads stays in cache while every tile of C passes over it; within a block,
  ;; the tiles of one column strip of C in turn, which share B's 256 x 8 segment.
  (func (export "gemm")
    (param $a i32) (param $b i32) (param $c i32) (param $M i32) (param $K i32) (param $N i32)
    (param $aRow i32) (param $aCol i32) (param $bRow i32)
    (local $cRow i32) (local $M4 i32) (local $N8 i32) (local $k0 i32) (local $kc i32)
    (local $paK i32) (local $pbK i32) (local $m0 i32) (local $n0 i32)
    (local.set $cRow (i32.shl (local.get $N) (i32.const 2)))
    (local.set $M4 (i32.and (local.get $M) (i32.const -4)))
    (local.set $N8 (i32.and (local.get $N) (i32.const -8)))
    (block $doneK (loop $eachK
      (br_if $doneK (i32.ge_u (local.get $k0) (local.get $K)))
      (local.set $kc (i32.sub (local.get $K) (local.get $k0)))
      (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
      (local.set $paK (i32.add (local.get $a) (i32.mul (local.get $k0) (local.get $aCol))))
      (local.set $pbK (i32.add (local.get $b) (i32.mul (local.get $k0) (local.get $bRow))))
      (local.set $n0 (i32.const 0))
      (block $doneN (loop $eachN
        (br_if $doneN (i32.ge_u (local.get $n0) (local.get $N8)))
        (local.set $m0 (i32.const 0))
        (block $doneM (loop $eachM
          (br_if $doneM (i32.ge_u (local.get $m0) (local.get $M4)))
          (call $tile
            (i32.add (local.get $paK) (i32.mul (local.get $m0) (local.get $aRow)))
            (i32.add (local.get $pbK) (i32.shl (local.get $n0) (i32.const 2)))
            (i32.add (i32.add (local.get $c) (i32.mul (local.get $m0) (local.get $cRow)))
              (i32.shl (local.get $n0) (i32.const 2)))
            (local.get $kc) (local.get $aRow) (local.get $aCol) (local.get $bRow) (local.get $cRow))
          (local.set $m0 (i32.add (local.get $m0) (i32.const 4)))
          (br $eachM)))
        (local.set $n0 (i32.add (local.get $n0) (i32.const 8)))
        (br $eachN)))
      ;; the last N mod 8 columns, every row
      (call $edge (local.get $paK) (i32.add (local.get $pbK) (i32.shl (local.get $N8) (i32.const 2)))
        (i32.add (local.get $c) (i32.shl (local.get $N8) (i32.const 2)))
        (local.get $M) (local.get $kc) (i32.sub (local.get $N) (local.get $N8))
        (local.get $aRow) (local.get $aCol) (local.get $bRow) (local.get $cRow))
      ;; the last M mod 4 rows, the other columns
      (call $edge (i32.add (local.get $paK) (i32.mul (local.get $M4) (local.get $aRow)))
        (local.get $pbK) (i32.add (local.get $c) (i32.mul (local.get $M4) (local.get $cRow)))
        (i32.sub (local.get $M) (local.get $M4)) (local.get $kc) (local.get $N8)
        (local.get $aRow) (local.get $aCol) (local.get $bRow) (local.get $cRow))
      (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
      (br $eachK))))

  ;; Copies `rows` runs of `run` 4-byte elements, run r from src + r * srcStride to
  ;; dst + r * dstStride (strides in bytes), 16 bytes at a time: the inner loop of a transpose that
  ;; keeps the last axis (the heads of multi-head attention split and merged), and of the patch
  ;; matrix of a convolution's filter gradient.
  (func (export "copy_runs")
    (param $src i32) (param $dst i32) (param $rows i32) (param $run i32)
    (param $srcStride i32) (param $dstStride i32)
    (local $bytes i32) (local $bytes16 i32) (local $j i32)
    (local.set $bytes (i32.shl (local.get $run) (i32.const 2)))
    (local.set $bytes16 (i32.and (local.get $bytes) (i32.const -16)))
    (block $doneR (loop $eachR
      (br_if $doneR (i32.eqz (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $done16 (loop $each16
        (br_if $done16 (i32.ge_u (local.get $j) (local.get $bytes16)))
        (v128.store (i32.add (local.get $dst) (local.get $j))
          (v128.load (i32.add (local.get $src) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $each16)))
      (block $done4 (loop $each4
        (br_if $done4 (i32.ge_u (local.get $j) (local.get $bytes)))
        (i32.store (i32.add (local.get $dst) (local.get $j))
          (i32.load (i32.add (local.get $src) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $each4)))
      (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
      (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $eachR))))

  ;; Adds `rows` runs of `run` floats, run r from src + r * srcStride, into dst + r * dstStride
  ;; (strides in bytes), in order, so runs that overlap in dst add up: the scatter-add of a
  ;; convolution's input gradient ("col2im").
  (func (export "add_runs")
    (param $src i32) (param $dst i32) (param $rows i32) (param $run i32)
    (param $srcStride i32) (param $dstStride i32)
    (local $bytes i32) (local $bytes16 i32) (local $j i32) (local $at i32)
    (local.set $bytes (i32.shl (local.get $run) (i32.const 2)))
    (local.set $bytes16 (i32.and (local.get $bytes) (i32.const -16)))
    (block $doneR (loop $eachR
      (br_if $doneR (i32.eqz (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $done16 (loop $each16
        (br_if $done16 (i32.ge_u (local.get $j) (local.get $bytes16)))
        (local.set $at (i32.add (local.get $dst) (local.get $j)))
        (v128.store (local.get $at)
          (f32x4.add (v128.load (local.get $at)) (v128.load (i32.add (local.get $src) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $each16)))
      (block $done4 (loop $each4
        (br_if $done4 (i32.ge_u (local.get $j) (local.get $bytes)))
        (local.set $at (i32.add (local.get $dst) (local.get $j)))
        (f32.store (local.get $at)
          (f32.add (f32.load (local.get $at)) (f32.load (i32.add (local.get $src) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $each4)))
      (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
      (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $eachR))))

  ;; dst[o, c] = the sum over r of src[o, r, c], for src [outer, R, inner] and dst [outer, inner]
  ;; (floats): the rows added in order, 4 columns at a time. Every bias gradient is such a sum.
  (func (export "sum_rows")
    (param $src i32) (param $dst i32) (param $outer i32) (param $R i32) (param $inner i32)
    (local $rowBytes i32) (local $bytes16 i32) (local $r i32) (local $j i32) (local $at i32)
    (local.set $rowBytes (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $bytes16 (i32.and (local.get $rowBytes) (i32.const -16)))
    (block $doneO (loop $eachO
      (br_if $doneO (i32.eqz (local.get $outer)))
      (local.set $j (i32.const 0))
      (block $doneZ (loop $eachZ
        (br_if $doneZ (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $dst) (local.get $j)) (f32.const 0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $eachZ)))
      (local.set $r (local.get $R))
      (block $doneR (loop $eachR
        (br_if $doneR (i32.eqz (local.get $r)))
        (local.set $j (i32.const 0))
        (block $done16 (loop $each16
          (br_if $done16 (i32.ge_u (local.get $j) (local.get $bytes16)))
          (local.set $at (i32.add (local.get $dst) (local.get $j)))
          (v128.store (local.get $at)
            (f32x4.add (v128.load (local.get $at)) (v128.load (i32.add (local.get $src) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $each16)))
        (block $done4 (loop $each4
          (br_if $done4 (i32.ge_u (local.get $j) (local.get $rowBytes)))
          (local.set $at (i32.add (local.get $dst) (local.get $j)))
          (f32.store (local.get $at)
            (f32.add (f32.load (local.get $at)) (f32.load (i32.add (local.get $src) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $each4)))
        (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
        (local.set $r (i32.sub (local.get $r) (i32.const 1)))
        (br $eachR)))
      (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
      (local.set $outer (i32.sub (local.get $outer) (i32.const 1)))
      (br $eachO))))

  ;; dst = b sigmoid(a x) - c for the floats of src, `bytes` bytes (at least 16), 4 lanes at a
  ;; time: the sigmoid with a = b = 1, c = 0, and tanh(x) = 2 sigmoid(2x) - 1 (a = b = 2, c = 1).
  ;; Where bytes is not a multiple of 16, the last 16 bytes are done again as one vector, so src
  ;; and dst may be the same only where it is. sigmoid(y) = 1 / (1 + e^-y) is within ~2 units in
  ;; the last place: e^-y = 2^k e^r with k = round(-y log2 e) and |r| <= ln 2 / 2, e^r by a
  ;; degree-5 polynomial (fitted to e^r on that interval for relative error, 1.6e-7 in float32),
  ;; 2^k made from its exponent bits. -y is clamped to [-87, 88] first, where 2^k is a normal
  ;; float (a NaN stays NaN). The constants live in locals: V8 would build each v128.const anew
  ;; at every use in the loop.
  (func $sigmoid_scaled (export "sigmoid_scaled")
    (param $src i32) (param $dst i32) (param $bytes i32) (param $a f32) (param $b f32) (param $c f32)
    (local $end i32) (local $j i32) (local $va v128) (local $vb v128) (local $vc v128) (local $x v128) (local $t v128) (local $k v128) (local $r v128) (local $e v128)
    (local $lo v128) (local $hi v128) (local $log2e v128) (local $magic v128) (local $ln2a v128)
    (local $ln2b v128) (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128)
    (local $p4 v128) (local $one v128)
    (local.set $lo (v128.const f32x4 -87 -87 -87 -87))
    (local.set $hi (v128.const f32x4 88 88 88 88))
    (local.set $log2e (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
    ;; 1.5 * 2^23 + 127: adding 1.5 * 2^23 to x log2 e rounds it to the integer k, which then
    ;; sits in the low bits of the sum's mantissa, plus 127 (the exponent's bias)
    (local.set $magic (v128.const f32x4 12583039 12583039 12583039 12583039))
    ;; ln 2 in two parts, so that k times the first part is exact
    (local.set $ln2a (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))
    (local.set $ln2b (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))
    (local.set $p0 (v128.const f32x4 0.008290314116 0.008290314116 0.008290314116 0.008290314116))
    (local.set $p1 (v128.const f32x4 0.0418979302 0.0418979302 0.0418979302 0.0418979302))
    (local.set $p2 (v128.const f32x4 0.1666763574 0.1666763574 0.1666763574 0.1666763574))
    (local.set $p3 (v128.const f32x4 0.4999915063 0.4999915063 0.4999915063 0.4999915063))
    (local.set $p4 (v128.const f32x4 0.999999702 0.999999702 0.999999702 0.999999702))
    (local.set $one (v128.const f32x4 1 1 1 1))
    ;; -a, so that x below is -a src
    (local.set $va (f32x4.splat (f32.neg (local.get $a))))
    (local.set $vb (f32x4.splat (local.get $b)))
    (local.set $vc (f32x4.splat (local.get $c)))
    (local.set $end (i32.sub (local.get $bytes) (i32.const 16)))
    (local.set $j (i32.const 0))
    (loop $each
      (if (i32.gt_u (local.get $j) (local.get $end)) (then (local.set $j (local.get $end))))
      ;; pmax and pmin are one instruction each (max and min with NaN care are several)
      (local.set $x (f32x4.pmin (f32x4.pmax
        (f32x4.mul (v128.load (i32.add (local.get $src) (local.get $j))) (local.get $va))
        (local.get $lo)) (local.get $hi)))
      (local.set $t (f32x4.add (f32x4.mul (local.get $x) (local.get $log2e)) (local.get $magic)))
      (local.set $k (f32x4.sub (local.get $t) (local.get $magic)))
      ;; r = x - k ln 2
      (local.set $r (f32x4.sub (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (local.get $ln2a)))
        (f32x4.mul (local.get $k) (local.get $ln2b))))
      ;; e^r = 1 + r (p4 + r (p3 + r (p2 + r (p1 + r p0)))), times 2^k: t's bits shifted left by
      ;; 23 leave k + 127 in the exponent field
      (local.set $e (f32x4.add (f32x4.mul (local.get $p0) (local.get $r)) (local.get $p1)))
      (local.set $e (f32x4.add (f32x4.mul (local.get $e) (local.get $r)) (local.get $p2)))
      (local.set $e (f32x4.add (f32x4.mul (local.get $e) (local.get $r)) (local.get $p3)))
      (local.set $e (f32x4.add (f32x4.mul (local.get $e) (local.get $r)) (local.get $p4)))
      (local.set $e (f32x4.mul (f32x4.add (f32x4.mul (local.get $e) (local.get $r)) (local.get $one))
        (i32x4.shl (local.get $t) (i32.const 23))))
      (v128.store (i32.add (local.get $dst) (local.get $j)) (f32x4.sub (f32x4.div (local.get $vb)
        (f32x4.add (local.get $one) (local.get $e))) (local.get $vc)))
      (if (i32.lt_u (local.get $j) (local.get $end)) (then
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $each)))))

  ;; One GRU step's gate math (src/core/gru-fused.ts) for `rows` rows of width d (a multiple of
  ;; 4, at least 4): with xp (+ xc when hasXc) the projected input, hp = h W_h and the bias b_h,
  ;; all in blocks r | z | n of a [3d] row (the bias: one row per `perBias` rows),
  ;;   r = sigmoid(x_r + hp_r + b_r)       z = sigmoid(x_z + hp_z + b_z)
  ;;   n = tanh(x_n + r (hp_n + b_n))      h' = n + z (h - n)
  ;; Writes h' [rows, d] to out and r | z | n [rows, 3d] to gates, whose row holds the
  ;; pre-activations until $sigmoid_scaled turns them into gates, in place.
  (func (export "gru_gates")
    (param $xp i32) (param $xc i32) (param $hp i32) (param $h i32) (param $bias i32)
    (param $out i32) (param $gates i32) (param $rows i32) (param $d i32) (param $perBias i32)
    (param $hasXc i32)
    (local $D i32) (local $D2 i32) (local $G i32) (local $row i32) (local $j i32)
    (local $x i32) (local $c i32) (local $q i32) (local $b i32) (local $g i32) (local $hr i32)
    (local $o i32) (local $v v128) (local $n v128)
    (local.set $D (i32.shl (local.get $d) (i32.const 2)))
    (local.set $D2 (i32.shl (local.get $D) (i32.const 1)))
    (local.set $G (i32.mul (local.get $D) (i32.const 3)))
    (block $doneRow (loop $eachRow
      (br_if $doneRow (i32.ge_u (local.get $row) (local.get $rows)))
      ;; this row of each operand
      (local.set $x (i32.add (local.get $xp) (i32.mul (local.get $row) (local.get $G))))
      (local.set $c (i32.add (local.get $xc) (i32.mul (local.get $row) (local.get $G))))
      (local.set $q (i32.add (local.get $hp) (i32.mul (local.get $row) (local.get $G))))
      (local.set $g (i32.add (local.get $gates) (i32.mul (local.get $row) (local.get $G))))
      (local.set $b (i32.add (local.get $bias)
        (i32.mul (i32.div_u (local.get $row) (local.get $perBias)) (local.get $G))))
      (local.set $hr (i32.add (local.get $h) (i32.mul (local.get $row) (local.get $D))))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $row) (local.get $D))))
      ;; 1) r | z: x + hp + b, then the sigmoid
      (local.set $j (i32.const 0))
      (block $doneRz (loop $eachRz
        (br_if $doneRz (i32.ge_u (local.get $j) (local.get $D2)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $j))))
        (if (local.get $hasXc) (then (local.set $v
          (f32x4.add (local.get $v) (v128.load (i32.add (local.get $c) (local.get $j)))))))
        (v128.store (i32.add (local.get $g) (local.get $j))
          (f32x4.add (f32x4.add (local.get $v) (v128.load (i32.add (local.get $q) (local.get $j))))
            (v128.load (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $eachRz)))
      (call $sigmoid_scaled (local.get $g) (local.get $g) (local.get $D2)
        (f32.const 1) (f32.const 1) (f32.const 0))
      ;; 2) n: x_n + r (hp_n + b_n), then tanh
      (local.set $j (i32.const 0))
      (block $doneN (loop $eachN
        (br_if $doneN (i32.ge_u (local.get $j) (local.get $D)))
        (local.set $v (v128.load (i32.add (local.get $x) (i32.add (local.get $D2) (local.get $j)))))
        (if (local.get $hasXc) (then (local.set $v (f32x4.add (local.get $v)
          (v128.load (i32.add (local.get $c) (i32.add (local.get $D2) (local.get $j))))))))
        (v128.store (i32.add (local.get $g) (i32.add (local.get $D2) (local.get $j)))
          (f32x4.add (local.get $v)
            (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $j)))
              (f32x4.add (v128.load (i32.add (local.get $q) (i32.add (local.get $D2) (local.get $j))))
                (v128.load (i32.add (local.get $b) (i32.add (local.get $D2) (local.get $j))))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $eachN)))
      (call $sigmoid_scaled (i32.add (local.get $g) (local.get $D2)) (i32.add (local.get $g) (local.get $D2))
        (local.get $D) (f32.const 2) (f32.const 2) (f32.const 1))
      ;; 3) h' = n + z (h - n)
      (local.set $j (i32.const 0))
      (block $doneH (loop $eachH
        (br_if $doneH (i32.ge_u (local.get $j) (local.get $D)))
        (local.set $n (v128.load (i32.add (local.get $g) (i32.add (local.get $D2) (local.get $j)))))
        (v128.store (i32.add (local.get $o) (local.get $j))
          (f32x4.add (local.get $n) (f32x4.mul
            (v128.load (i32.add (local.get $g) (i32.add (local.get $D) (local.get $j))))
            (f32x4.sub (v128.load (i32.add (local.get $hr) (local.get $j))) (local.get $n)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $eachH)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $eachRow))))

  ;; The backward of gru_gates (d a multiple of 4). g = dy + dhm + dhq + dhz (the last three where
  ;; bits 1, 2, 4 of `has` are set), all [rows, d]; with r | z | n from `gates`:
  ;;   da_n = g (1 - z) (1 - n^2)    da_r = da_n (hp_n + b_n) r (1 - r)    da_z = g (h - n) z (1 - z)
  ;; writes dxp = da_r | da_z | da_n and dhp = da_r | da_z | da_n r ([rows, 3d]), dhz' = g z.
  (func (export "gru_gates_grad")
    (param $dy i32) (param $dhm i32) (param $dhq i32) (param $dhz i32) (param $has i32)
    (param $h i32) (param $hp i32) (param $gates i32) (param $bias i32)
    (param $dxp i32) (param $dhp i32) (param $dhzOut i32)
    (param $rows i32) (param $d i32) (param $perBias i32)
    (local $D i32) (local $D2 i32) (local $G i32) (local $row i32) (local $j i32)
    (local $ph i32) (local $pg i32) (local $pb i32) (local $pa i32)
    (local $g v128) (local $r v128) (local $z v128) (local $n v128) (local $one v128)
    (local $daN v128) (local $daR v128) (local $daZ v128)
    (local.set $one (v128.const f32x4 1 1 1 1))
    (local.set $D (i32.shl (local.get $d) (i32.const 2)))
    (local.set $D2 (i32.shl (local.get $D) (i32.const 1)))
    (local.set $G (i32.mul (local.get $D) (i32.const 3)))
    (block $doneRow (loop $eachRow
      (br_if $doneRow (i32.ge_u (local.get $row) (local.get $rows)))
      (local.set $pb (i32.add (local.get $bias) (i32.add (local.get $D2)
        (i32.mul (i32.div_u (local.get $row) (local.get $perBias)) (local.get $G)))))
      (local.set $j (i32.const 0))
      (block $doneJ (loop $eachJ
        (br_if $doneJ (i32.ge_u (local.get $j) (local.get $D)))
        ;; column j of a [d] row (ph) and of the first block of a [3d] row (pg)
        (local.set $ph (i32.add (i32.mul (local.get $row) (local.get $D)) (local.get $j)))
        (local.set $pg (i32.add (i32.mul (local.get $row) (local.get $G)) (local.get $j)))
        (local.set $g (v128.load (i32.add (local.get $dy) (local.get $ph))))
        (if (i32.and (local.get $has) (i32.const 1)) (then
          (local.set $g (f32x4.add (local.get $g) (v128.load (i32.add (local.get $dhm) (local.get $ph)))))))
        (if (i32.and (local.get $has) (i32.const 2)) (then
          (local.set $g (f32x4.add (local.get $g) (v128.load (i32.add (local.get $dhq) (local.get $ph)))))))
        (if (i32.and (local.get $has) (i32.const 4)) (then
          (local.set $g (f32x4.add (local.get $g) (v128.load (i32.add (local.get $dhz) (local.get $ph)))))))
        (local.set $pa (i32.add (local.get $gates) (local.get $pg)))
        (local.set $r (v128.load (local.get $pa)))
        (local.set $z (v128.load (i32.add (local.get $pa) (local.get $D))))
        (local.set $n (v128.load (i32.add (local.get $pa) (local.get $D2))))
        (local.set $daN (f32x4.mul (f32x4.mul (local.get $g) (f32x4.sub (local.get $one) (local.get $z)))
          (f32x4.sub (local.get $one) (f32x4.mul (local.get $n) (local.get $n)))))
        (local.set $daR (f32x4.mul (f32x4.mul (f32x4.mul (local.get $daN)
          (f32x4.add (v128.load (i32.add (i32.add (local.get $hp) (local.get $pg)) (local.get $D2)))
            (v128.load (i32.add (local.get $pb) (local.get $j)))))
          (local.get $r)) (f32x4.sub (local.get $one) (local.get $r))))
        (local.set $daZ (f32x4.mul (f32x4.mul (f32x4.mul (local.get $g)
          (f32x4.sub (v128.load (i32.add (local.get $h) (local.get $ph))) (local.get $n)))
          (local.get $z)) (f32x4.sub (local.get $one) (local.get $z))))
        (local.set $pa (i32.add (local.get $dxp) (local.get $pg)))
        (v128.store (local.get $pa) (local.get $daR))
        (v128.store (i32.add (local.get $pa) (local.get $D)) (local.get $daZ))
        (v128.store (i32.add (local.get $pa) (local.get $D2)) (local.get $daN))
        (local.set $pa (i32.add (local.get $dhp) (local.get $pg)))
        (v128.store (local.get $pa) (local.get $daR))
        (v128.store (i32.add (local.get $pa) (local.get $D)) (local.get $daZ))
        (v128.store (i32.add (local.get $pa) (local.get $D2)) (f32x4.mul (local.get $daN) (local.get $r)))
        (v128.store (i32.add (local.get $dhzOut) (local.get $ph)) (f32x4.mul (local.get $g) (local.get $z)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $eachJ)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $eachRow))))

  ;; The sum of a vector's 4 lanes.
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; The backward of one additive-attention step (src/models/bahdanau-fused.ts), per row b of the
  ;; batch, with the context c = sum_j a_j h_j, the weights a = softmax(e), the scores
  ;; e_j = f_j . v and the features f_j = tanh(q + k_j) (M and A multiples of 4):
  ;;   da_j = dc . h_j + dA_j          ds_j = a_j (da_j - sum_i a_i da_i)        (softmax)
  ;;   dpre_j = ds_j v (1 - f_j^2)     dq = sum_j dpre_j      dv += sum_j ds_j f_j (over all b)
  ;; dc [B, M], dA [B, S], a [B, S], f [B, S, A], v [A], h [B, S, M]; writes ds [B, S],
  ;; dpre [B, S, A], dq [B, A] and dv [A].
  (func (export "additive_attention_grad")
    (param $dc i32) (param $dA i32) (param $a i32) (param $f i32) (param $v i32) (param $h i32)
    (param $ds i32) (param $dpre i32) (param $dq i32) (param $dv i32)
    (param $B i32) (param $S i32) (param $M i32) (param $A i32)
    (local $MB i32) (local $AB i32) (local $b i32) (local $j i32) (local $k i32)
    (local $pc i32) (local $ph i32) (local $pw i32) (local $pf i32) (local $pp i32) (local $pq i32)
    (local $acc v128) (local $fv v128) (local $g v128) (local $da f32) (local $sum f32)
    (local $one v128)
    (local.set $one (v128.const f32x4 1 1 1 1))
    (local.set $MB (i32.shl (local.get $M) (i32.const 2)))
    (local.set $AB (i32.shl (local.get $A) (i32.const 2)))
    ;; dv = 0
    (local.set $k (i32.const 0))
    (block $doneZ (loop $eachZ
      (br_if $doneZ (i32.ge_u (local.get $k) (local.get $AB)))
      (v128.store (i32.add (local.get $dv) (local.get $k)) (v128.const f32x4 0 0 0 0))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $eachZ)))
    (block $doneB (loop $eachB
      (br_if $doneB (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $pc (i32.add (local.get $dc) (i32.mul (local.get $b) (local.get $MB))))
      ;; 1) da_j = dc . h_j + dA_j into ds (for now); sum = sum_j a_j da_j
      (local.set $sum (f32.const 0))
      (local.set $j (i32.const 0))
      (block $doneJ (loop $eachJ
        (br_if $doneJ (i32.ge_u (local.get $j) (local.get $S)))
        ;; pw: element (b, j) of a [B, S] tensor, in bytes
        (local.set $pw (i32.shl (i32.add (i32.mul (local.get $b) (local.get $S)) (local.get $j)) (i32.const 2)))
        (local.set $ph (i32.add (local.get $h) (i32.mul (local.get $pw) (local.get $M))))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (block $doneK (loop $eachK
          (br_if $doneK (i32.ge_u (local.get $k) (local.get $MB)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (v128.load (i32.add (local.get $pc) (local.get $k)))
            (v128.load (i32.add (local.get $ph) (local.get $k))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $eachK)))
        (local.set $da (f32.add (call $hsum (local.get $acc))
          (f32.load (i32.add (local.get $dA) (local.get $pw)))))
        (f32.store (i32.add (local.get $ds) (local.get $pw)) (local.get $da))
        (local.set $sum (f32.add (local.get $sum)
          (f32.mul (f32.load (i32.add (local.get $a) (local.get $pw))) (local.get $da))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $eachJ)))
      ;; 2) ds_j = a_j (da_j - sum); dpre_j = ds_j v (1 - f_j^2); dq = sum_j dpre_j; dv += ds_j f_j
      (local.set $pq (i32.add (local.get $dq) (i32.mul (local.get $b) (local.get $AB))))
      (local.set $k (i32.const 0))
      (block $doneQ (loop $eachQ
        (br_if $doneQ (i32.ge_u (local.get $k) (local.get $AB)))
        (v128.store (i32.add (local.get $pq) (local.get $k)) (v128.const f32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $eachQ)))
      (local.set $j (i32.const 0))
      (block $doneJ2 (loop $eachJ2
        (br_if $doneJ2 (i32.ge_u (local.get $j) (local.get $S)))
        (local.set $pw (i32.shl (i32.add (i32.mul (local.get $b) (local.get $S)) (local.get $j)) (i32.const 2)))
        (local.set $da (f32.mul (f32.load (i32.add (local.get $a) (local.get $pw)))
          (f32.sub (f32.load (i32.add (local.get $ds) (local.get $pw))) (local.get $sum))))
        (f32.store (i32.add (local.get $ds) (local.get $pw)) (local.get $da))
        (local.set $g (f32x4.splat (local.get $da)))
        (local.set $pf (i32.add (local.get $f) (i32.mul (local.get $pw) (local.get $A))))
        (local.set $pp (i32.add (local.get $dpre) (i32.mul (local.get $pw) (local.get $A))))
        (local.set $k (i32.const 0))
        (block $doneK2 (loop $eachK2
          (br_if $doneK2 (i32.ge_u (local.get $k) (local.get $AB)))
          (local.set $fv (v128.load (i32.add (local.get $pf) (local.get $k))))
          (local.set $acc (f32x4.mul (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $v) (local.get $k))))
            (f32x4.sub (local.get $one) (f32x4.mul (local.get $fv) (local.get $fv)))))
          (v128.store (i32.add (local.get $pp) (local.get $k)) (local.get $acc))
          (v128.store (i32.add (local.get $pq) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $pq) (local.get $k))) (local.get $acc)))
          (v128.store (i32.add (local.get $dv) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $dv) (local.get $k)))
              (f32x4.mul (local.get $g) (local.get $fv))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $eachK2)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $eachJ2)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $eachB))))

  ;; The scores of one additive-attention step (src/models/bahdanau-fused.ts), per row b of the
  ;; batch: f_j = tanh(q + k_j) and e_j = f_j . v + bias_j, for q [B, A], k [B, S, A], v [A] and
  ;; bias [B, S] (A a multiple of 4); writes f [B, S, A] and e [B, S].
  (func (export "additive_scores")
    (param $q i32) (param $keys i32) (param $v i32) (param $bias i32) (param $f i32) (param $e i32)
    (param $B i32) (param $S i32) (param $A i32)
    (local $AB i32) (local $rowBytes i32) (local $b i32) (local $j i32) (local $k i32)
    (local $pq i32) (local $pk i32) (local $pf i32) (local $pw i32) (local $acc v128)
    (local.set $AB (i32.shl (local.get $A) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $S) (local.get $AB)))
    (block $doneB (loop $eachB
      (br_if $doneB (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $pq (i32.add (local.get $q) (i32.mul (local.get $b) (local.get $AB))))
      (local.set $pk (i32.add (local.get $keys) (i32.mul (local.get $b) (local.get $rowBytes))))
      (local.set $pf (i32.add (local.get $f) (i32.mul (local.get $b) (local.get $rowBytes))))
      ;; 1) q + k_j for every j, then tanh over the whole [S, A] block in place
      (local.set $j (i32.const 0))
      (block $doneJ (loop $eachJ
        (br_if $doneJ (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $k (i32.const 0))
        (block $doneK (loop $eachK
          (br_if $doneK (i32.ge_u (local.get $k) (local.get $AB)))
          (v128.store (i32.add (local.get $pf) (i32.add (local.get $j) (local.get $k)))
            (f32x4.add (v128.load (i32.add (local.get $pq) (local.get $k)))
              (v128.load (i32.add (local.get $pk) (i32.add (local.get $j) (local.get $k))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $eachK)))
        (local.set $j (i32.add (local.get $j) (local.get $AB)))
        (br $eachJ)))
      (call $sigmoid_scaled (local.get $pf) (local.get $pf) (local.get $rowBytes)
        (f32.const 2) (f32.const 2) (f32.const 1))
      ;; 2) e_j = f_j . v + bias_j
      (local.set $j (i32.const 0))
      (block $doneE (loop $eachE
        (br_if $doneE (i32.ge_u (local.get $j) (local.get $S)))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $k (i32.const 0))
        (block $doneK2 (loop $eachK2
          (br_if $doneK2 (i32.ge_u (local.get $k) (local.get $AB)))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (v128.load (i32.add (local.get $pf) (local.get $k)))
              (v128.load (i32.add (local.get $v) (local.get $k))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $eachK2)))
        (local.set $pw (i32.shl (i32.add (i32.mul (local.get $b) (local.get $S)) (local.get $j)) (i32.const 2)))
        (f32.store (i32.add (local.get $e) (local.get $pw))
          (f32.add (call $hsum (local.get $acc)) (f32.load (i32.add (local.get $bias) (local.get $pw)))))
        (local.set $pf (i32.add (local.get $pf) (local.get $AB)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $eachE)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $eachB))))

  ;; c_b = sum_j a_bj h_bj for a [B, S] and h [B, S, M] (M a multiple of 4): the context of an
  ;; attention step, one weighted sum of rows per row of the batch; writes c [B, M].
  (func (export "weighted_rows")
    (param $a i32) (param $h i32) (param $c i32) (param $B i32) (param $S i32) (param $M i32)
    (local $MB i32) (local $b i32) (local $j i32) (local $k i32) (local $pc i32) (local $w v128)
    (local.set $MB (i32.shl (local.get $M) (i32.const 2)))
    (block $doneB (loop $eachB
      (br_if $doneB (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $pc (i32.add (local.get $c) (i32.mul (local.get $b) (local.get $MB))))
      (local.set $k (i32.const 0))
      (block $doneZ (loop $eachZ
        (br_if $doneZ (i32.ge_u (local.get $k) (local.get $MB)))
        (v128.store (i32.add (local.get $pc) (local.get $k)) (v128.const f32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $eachZ)))
      (local.set $j (i32.const 0))
      (block $doneJ (loop $eachJ
        (br_if $doneJ (i32.ge_u (local.get $j) (local.get $S)))
        (local.set $w (f32x4.splat (f32.load (local.get $a))))
        (local.set $k (i32.const 0))
        (block $doneK (loop $eachK
          (br_if $doneK (i32.ge_u (local.get $k) (local.get $MB)))
          (v128.store (i32.add (local.get $pc) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $pc) (local.get $k)))
              (f32x4.mul (local.get $w) (v128.load (i32.add (local.get $h) (local.get $k))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $eachK)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $h (i32.add (local.get $h) (local.get $MB)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $eachJ)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $eachB))))
)
