/* RV64I: arithmetic and logic, every shift (amounts 0, 31, 32, 63 and amounts
 * whose upper bits must be ignored), sign extension of every *W form,
 * slt/sltu/slti/sltiu edges, lui/auipc, every branch taken and not taken,
 * jal/jalr (link values, jalr clearing bit 0), loads and stores of every width
 * with sign and zero extension, misaligned loads and stores (also across a
 * page), x0 discarding writes, fence and fence.i. Each check prints its
 * operands and result; exit status 0 when all pass. */
#include "insn.h"

static void arith(void) {
  rt_section("add sub and or xor");
  CHECK_RR("add", 1, 2, 3);
  CHECK_RR("add", INT64_MAX_, 1, INT64_MIN_);
  CHECK_RR("add", ONES, 1, 0);
  CHECK_RR("sub", 0, 1, ONES);
  CHECK_RR("sub", INT64_MIN_, 1, INT64_MAX_);
  CHECK_RR("sub", 5, 5, 0);
  CHECK_RR("and", 0xff00ff00ff00ff00ul, 0x0ff00ff00ff00ff0ul, 0x0f000f000f000f00ul);
  CHECK_RR("or", 0xff00ff00ff00ff00ul, 0x0ff00ff00ff00ff0ul, 0xfff0fff0fff0fff0ul);
  CHECK_RR("xor", 0xff00ff00ff00ff00ul, 0x0ff00ff00ff00ff0ul, 0xf0f0f0f0f0f0f0f0ul);

  rt_section("immediates (12 bits, sign-extended)");
  CHECK_RI("addi", 0, 2047, 2047);
  CHECK_RI("addi", 0, -2048, 0xfffffffffffff800ul);
  CHECK_RI("addi", INT64_MAX_, 1, INT64_MIN_);
  CHECK_RI("addi", 1, -1, 0);
  CHECK_RI("andi", ONES, -2048, 0xfffffffffffff800ul);
  CHECK_RI("andi", 0x123456789abcdef0ul, 2047, 0x6f0);
  CHECK_RI("ori", 0, -1, ONES);
  CHECK_RI("ori", 0x8000000000000000ul, 0x7ff, 0x80000000000007fful);
  CHECK_RI("xori", 0x0123456789abcdeful, -1, 0xfedcba9876543210ul);
  CHECK_RI("xori", 0xf0, 0x0f, 0xff);
}

static void shifts(void) {
  rt_section("sll srl sra: amount is rs2[5:0]");
  CHECK_RR("sll", 0x8000000000000001ul, 0, 0x8000000000000001ul);
  CHECK_RR("sll", 1, 31, 0x80000000ul);
  CHECK_RR("sll", 1, 32, 0x100000000ul);
  CHECK_RR("sll", 1, 63, INT64_MIN_);
  CHECK_RR("sll", 3, 64, 3);
  CHECK_RR("sll", 3, 65, 6);
  CHECK_RR("sll", 1, ONES, INT64_MIN_);
  CHECK_RR("sll", 5, 0xffffffffffffffc0ul, 5);
  CHECK_RR("srl", INT64_MIN_, 0, INT64_MIN_);
  CHECK_RR("srl", INT64_MIN_, 31, 0x100000000ul);
  CHECK_RR("srl", INT64_MIN_, 32, 0x80000000ul);
  CHECK_RR("srl", INT64_MIN_, 63, 1);
  CHECK_RR("srl", INT64_MIN_, 64, INT64_MIN_);
  CHECK_RR("srl", ONES, 0x7f, 1);
  CHECK_RR("sra", INT64_MIN_, 0, INT64_MIN_);
  CHECK_RR("sra", INT64_MIN_, 31, 0xffffffff00000000ul);
  CHECK_RR("sra", INT64_MIN_, 32, 0xffffffff80000000ul);
  CHECK_RR("sra", INT64_MIN_, 63, ONES);
  CHECK_RR("sra", INT64_MIN_, 64, INT64_MIN_);
  CHECK_RR("sra", 0x4000000000000000ul, 0xbe, 1);
  CHECK_RR("sra", 0x7000000000000000ul, 63, 0);

  rt_section("slli srli srai");
  CHECK_RI("slli", 0x8000000000000001ul, 0, 0x8000000000000001ul);
  CHECK_RI("slli", 0xff, 31, 0x7f80000000ul);
  CHECK_RI("slli", 0xff, 32, 0xff00000000ul);
  CHECK_RI("slli", 3, 63, INT64_MIN_);
  CHECK_RI("srli", ONES, 0, ONES);
  CHECK_RI("srli", ONES, 31, 0x1ffffffff);
  CHECK_RI("srli", ONES, 32, 0xffffffff);
  CHECK_RI("srli", ONES, 63, 1);
  CHECK_RI("srai", INT64_MIN_, 0, INT64_MIN_);
  CHECK_RI("srai", INT64_MIN_, 31, 0xffffffff00000000ul);
  CHECK_RI("srai", INT64_MIN_, 32, 0xffffffff80000000ul);
  CHECK_RI("srai", INT64_MIN_, 63, ONES);
  CHECK_RI("srai", INT64_MAX_, 63, 0);
}

static void wforms(void) {
  rt_section("*W forms: 32-bit result sign-extended, upper input bits ignored");
  CHECK_RR("addw", 0x7fffffff, 1, 0xffffffff80000000ul);
  CHECK_RR("addw", 0xffffffff, 1, 0);
  CHECK_RR("addw", 0x1234567800000001ul, 0x8765432100000002ul, 3);
  CHECK_RR("addw", 0x40000000, 0x40000000, 0xffffffff80000000ul);
  CHECK_RR("subw", 0x80000000, 1, 0x7fffffff);
  CHECK_RR("subw", 0, 1, ONES);
  CHECK_RR("subw", 0x100000000ul, 0, 0);
  CHECK_RR("sllw", 1, 31, 0xffffffff80000000ul);
  CHECK_RR("sllw", 1, 32, 1);
  CHECK_RR("sllw", 0xffffffff00000003ul, 1, 6);
  CHECK_RR("sllw", 0x3, 0x3f, 0xffffffff80000000ul);
  CHECK_RR("sllw", 0x12345678, 0, 0x12345678);
  CHECK_RR("sllw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RR("srlw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RR("srlw", 0x80000000, 31, 1);
  CHECK_RR("srlw", 0x80000000, 32, 0xffffffff80000000ul);
  CHECK_RR("srlw", 0xffffffff00000000ul, 0, 0);
  CHECK_RR("srlw", ONES, 4, 0x0fffffff);
  CHECK_RR("sraw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RR("sraw", 0x80000000, 31, ONES);
  CHECK_RR("sraw", 0x80000000, 63, ONES);
  CHECK_RR("sraw", 0x7fffffff00000000ul, 4, 0);
  CHECK_RR("sraw", 0x00000000f0000000ul, 4, 0xffffffffff000000ul);
  CHECK_RI("addiw", 0x7fffffff, 1, 0xffffffff80000000ul);
  CHECK_RI("addiw", 0xffffffff, 0, ONES);
  CHECK_RI("addiw", 0x123456789ul, 0, 0x23456789);
  CHECK_RI("addiw", 0, -2048, 0xfffffffffffff800ul);
  CHECK_RI("addiw", 0x80000000, -1, 0x7fffffff);
  CHECK_RI("slliw", 1, 31, 0xffffffff80000000ul);
  CHECK_RI("slliw", 0xffffffff00000001ul, 0, 1);
  CHECK_RI("slliw", 0x80000001, 1, 2);
  CHECK_RI("srliw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RI("srliw", 0x80000000, 31, 1);
  CHECK_RI("srliw", 0xffffffff80000000ul, 1, 0x40000000);
  CHECK_RI("sraiw", 0x80000000, 31, ONES);
  CHECK_RI("sraiw", 0x80000000, 0, 0xffffffff80000000ul);
  CHECK_RI("sraiw", 0xfffffffe7ffffffful, 30, 1);
}

static void compares(void) {
  rt_section("slt sltu slti sltiu");
  CHECK_RR("slt", ONES, 0, 1);
  CHECK_RR("slt", 0, ONES, 0);
  CHECK_RR("slt", INT64_MIN_, INT64_MAX_, 1);
  CHECK_RR("slt", INT64_MAX_, INT64_MIN_, 0);
  CHECK_RR("slt", 5, 5, 0);
  CHECK_RR("sltu", ONES, 0, 0);
  CHECK_RR("sltu", 0, ONES, 1);
  CHECK_RR("sltu", INT64_MIN_, INT64_MAX_, 0);
  CHECK_RR("sltu", INT64_MAX_, INT64_MIN_, 1);
  CHECK_RR("sltu", 7, 7, 0);
  CHECK_RI("slti", ONES, 0, 1);
  CHECK_RI("slti", 0, -1, 0);
  CHECK_RI("slti", 0xfffffffffffff800ul, -2048, 0);
  CHECK_RI("slti", 0xfffffffffffff7fful, -2048, 1);
  CHECK_RI("slti", INT64_MIN_, 2047, 1);
  CHECK_RI("sltiu", 0, 1, 1);
  CHECK_RI("sltiu", 1, 1, 0);
  CHECK_RI("sltiu", 0xfffffffffffffffeul, -1, 1);
  CHECK_RI("sltiu", ONES, -1, 0);
  CHECK_RI("sltiu", 0x7ff, -2048, 1);
  CHECK_RI("sltiu", 0xfffffffffffff800ul, -2048, 0);
}

static void upper(void) {
  u64 r, a, b;
  rt_section("lui auipc");
  __asm__ volatile(NORVC "lui %0, 0x80000" POPRVC : "=r"(r));
  rt_check_u64("lui 0x80000 (sign-extended)", r, 0xffffffff80000000ul);
  __asm__ volatile(NORVC "lui %0, 0x7ffff" POPRVC : "=r"(r));
  rt_check_u64("lui 0x7ffff", r, 0x7ffff000);
  __asm__ volatile(NORVC "lui %0, 0xfffff" POPRVC : "=r"(r));
  rt_check_u64("lui 0xfffff", r, 0xfffffffffffff000ul);
  __asm__ volatile(NORVC "lui %0, 1" POPRVC : "=r"(r));
  rt_check_u64("lui 1", r, 0x1000);
  __asm__ volatile(NORVC "1: auipc %0, 0\n lla %1, 1b" POPRVC : "=r"(a), "=r"(b));
  rt_check_u64("auipc 0 - its own address", a - b, 0);
  __asm__ volatile(NORVC "1: auipc %0, 1\n lla %1, 1b" POPRVC : "=r"(a), "=r"(b));
  rt_check_u64("auipc 1 - its own address", a - b, 0x1000);
  __asm__ volatile(NORVC "1: auipc %0, 0x80000\n lla %1, 1b" POPRVC : "=r"(a), "=r"(b));
  rt_check_u64("auipc 0x80000 - its own address", a - b, 0xffffffff80000000ul);
  __asm__ volatile(NORVC "1: auipc %0, 0xfffff\n lla %1, 1b" POPRVC : "=r"(a), "=r"(b));
  rt_check_u64("auipc 0xfffff - its own address", a - b, 0xfffffffffffff000ul);
}

/* 1 when the branch is taken. */
#define BRANCH(insn, a, b) ({ u64 t_; __asm__ volatile(NORVC "li %0, 1\n " insn " %1, %2, 1f\n li %0, 0\n1:" POPRVC \
  : "=&r"(t_) : "r"((u64)(a)), "r"((u64)(b))); t_; })
/* The same with a backward branch. */
#define BRANCH_BACK(insn, a, b) ({ u64 t_; __asm__ volatile(NORVC "j 2f\n1: li %0, 1\n j 3f\n2: " insn " %1, %2, 1b\n li %0, 0\n3:" POPRVC \
  : "=&r"(t_) : "r"((u64)(a)), "r"((u64)(b))); t_; })

static const u64 pairs[][2] = {
  {0, 0}, {1, 0}, {0, 1}, {ONES, 0}, {0, ONES}, {INT64_MIN_, INT64_MAX_}, {INT64_MAX_, INT64_MIN_}, {ONES, ONES},
  {0x100000000ul, 0},
};
/* Whether each branch is taken for pairs[i], written out. */
static const char taken_beq[]  = "100000010";
static const char taken_bne[]  = "011111101";
static const char taken_blt[]  = "001101000";
static const char taken_bge[]  = "110010111";
static const char taken_bltu[] = "001010100";
static const char taken_bgeu[] = "110101011";

static void branches(void) {
  rt_section("branches (1 = taken)");
  for (unsigned i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    u64 a = pairs[i][0], b = pairs[i][1];
    rt_check2("beq", a, b, BRANCH("beq", a, b), (u64)(taken_beq[i] - '0'));
    rt_check2("bne", a, b, BRANCH("bne", a, b), (u64)(taken_bne[i] - '0'));
    rt_check2("blt", a, b, BRANCH("blt", a, b), (u64)(taken_blt[i] - '0'));
    rt_check2("bge", a, b, BRANCH("bge", a, b), (u64)(taken_bge[i] - '0'));
    rt_check2("bltu", a, b, BRANCH("bltu", a, b), (u64)(taken_bltu[i] - '0'));
    rt_check2("bgeu", a, b, BRANCH("bgeu", a, b), (u64)(taken_bgeu[i] - '0'));
  }
  rt_check2("beq backward", 3, 3, BRANCH_BACK("beq", 3, 3), 1);
  rt_check2("bne backward", 3, 3, BRANCH_BACK("bne", 3, 3), 0);
  rt_check2("blt backward", ONES, 1, BRANCH_BACK("blt", ONES, 1), 1);
  rt_check2("bltu backward", ONES, 1, BRANCH_BACK("bltu", ONES, 1), 0);
  rt_check2("bge backward", INT64_MIN_, INT64_MIN_, BRANCH_BACK("bge", INT64_MIN_, INT64_MIN_), 1);
  rt_check2("bgeu backward", 0, 1, BRANCH_BACK("bgeu", 0, 1), 0);
}

static void jumps(void) {
  u64 link, want, mark;
  rt_section("jal jalr");
  __asm__ volatile(NORVC "jal %0, 1f\n2: nop\n1: lla %1, 2b" POPRVC : "=&r"(link), "=r"(want));
  rt_check_u64("jal link - address after jal", link - want, 0);
  __asm__ volatile(NORVC "li %2, 0\n jal %0, 1f\n2: li %2, 1\n1: lla %1, 2b" POPRVC : "=&r"(link), "=r"(want), "=&r"(mark));
  rt_check_u64("jal skipped the instruction after it", mark, 0);
  /* Forward and backward over a gap: */
  __asm__ volatile(NORVC "li %0, 0\n j 2f\n1: addi %0, %0, 1\n j 3f\n2: addi %0, %0, 10\n jal x0, 1b\n3:" POPRVC : "=&r"(mark));
  rt_check_u64("j forward then jal x0 backward", mark, 11);
  __asm__ volatile(NORVC "lla t0, 1f\n jalr %0, 0(t0)\n2: nop\n1: lla %1, 2b" POPRVC : "=&r"(link), "=r"(want) :: "t0");
  rt_check_u64("jalr link - address after jalr", link - want, 0);
  __asm__ volatile(NORVC "li %2, 0\n lla t0, 1f\n addi t0, t0, 1\n jalr %0, 0(t0)\n2: li %2, 9\n.balign 4\n1: lla %1, 2b" POPRVC
                   : "=&r"(link), "=r"(want), "=&r"(mark) :: "t0");
  rt_check_u64("jalr to an odd address lands on address & ~1 (0 = ok)", mark, 0);
  rt_check_u64("  its link", link - want, 0);
  __asm__ volatile(NORVC "li %1, 0\n lla t0, 1f\n addi t0, t0, -4\n jalr x0, 5(t0)\n li %1, 9\n.balign 4\n1: nop" POPRVC
                   : "=&r"(link), "=&r"(mark) :: "t0");
  rt_check_u64("jalr offset 5 from target-4 (0 = ok)", mark, 0);
  __asm__ volatile(NORVC "li %1, 0\n lla t0, 1f\n addi t0, t0, 100\n jalr x0, -100(t0)\n li %1, 9\n1: nop" POPRVC
                   : "=&r"(link), "=&r"(mark) :: "t0");
  rt_check_u64("jalr negative offset (0 = ok)", mark, 0);
  __asm__ volatile(NORVC "lla %0, 1f\n jalr %0, 0(%0)\n2: nop\n1: lla %1, 2b" POPRVC : "=&r"(link), "=r"(want));
  rt_check_u64("jalr rd == rs1: target from the old value, link written", link - want, 0);
}

static unsigned char mem[32] __attribute__((aligned(16))) = {
  0x80, 0xff, 0x7f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76,
  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

#define LOAD(insn, p, off) ({ u64 r_; __asm__ volatile(NORVC insn " %0, %2(%1)" POPRVC : "=r"(r_) : "r"((u64)(p)), "i"(off) : "memory"); r_; })
#define STORE(insn, v, p, off) __asm__ volatile(NORVC insn " %0, %2(%1)" POPRVC :: "r"((u64)(v)), "r"((u64)(p)), "i"(off) : "memory")

static u64 word_at(const unsigned char *p) {
  u64 v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void loads_stores(void) {
  unsigned char *p = mem;
  rt_section("aligned loads");
  rt_check_u64("lb 0x80", LOAD("lb", p, 0), 0xffffffffffffff80ul);
  rt_check_u64("lbu 0x80", LOAD("lbu", p, 0), 0x80);
  rt_check_u64("lb 0x7f", LOAD("lb", p, 2), 0x7f);
  rt_check_u64("lh 0xff80", LOAD("lh", p, 0), 0xffffffffffffff80ul);
  rt_check_u64("lhu 0xff80", LOAD("lhu", p, 0), 0xff80);
  rt_check_u64("lh 0x017f", LOAD("lh", p, 2), 0x017f);
  rt_check_u64("lw 0x017fff80", LOAD("lw", p, 0), 0x017fff80);
  rt_check_u64("lw 0x89674523", LOAD("lw", p, 4), 0xffffffff89674523ul);
  rt_check_u64("lwu 0x89674523", LOAD("lwu", p, 4), 0x89674523);
  rt_check_u64("ld", LOAD("ld", p, 8), 0x7698badcfeefcdabul);
  rt_check_u64("ld negative offset", LOAD("ld", p + 16, -16), 0x89674523017fff80ul);
  rt_check_u64("lbu offset 2047", LOAD("lbu", (u64)p - 2047 + 31, 2047), 0xff);
  rt_check_u64("lb offset -2048", LOAD("lb", (u64)p + 2048 + 13, -2048), 0xffffffffffffffbaul);

  rt_section("misaligned loads");
  rt_check_u64("lh +1", LOAD("lh", p, 1), 0x7fff);
  rt_check_u64("lhu +3", LOAD("lhu", p, 3), 0x2301);
  rt_check_u64("lh +7", LOAD("lh", p, 7), 0xffffffffffffab89ul);
  rt_check_u64("lw +1", LOAD("lw", p, 1), 0x23017fff);
  rt_check_u64("lw +2", LOAD("lw", p, 2), 0x4523017f);
  rt_check_u64("lw +3", LOAD("lw", p, 3), 0x67452301);
  rt_check_u64("lw +5 (across 8 bytes)", LOAD("lw", p, 5), 0xffffffffab896745ul);
  rt_check_u64("lwu +6", LOAD("lwu", p, 6), 0xcdab8967);
  rt_check_u64("ld +1", LOAD("ld", p, 1), 0xab89674523017ffful);
  rt_check_u64("ld +2", LOAD("ld", p, 2), 0xcdab89674523017ful);
  rt_check_u64("ld +3", LOAD("ld", p, 3), 0xefcdab8967452301ul);
  rt_check_u64("ld +4", LOAD("ld", p, 4), 0xfeefcdab89674523ul);
  rt_check_u64("ld +5", LOAD("ld", p, 5), 0xdcfeefcdab896745ul);
  rt_check_u64("ld +6", LOAD("ld", p, 6), 0xbadcfeefcdab8967ul);
  rt_check_u64("ld +7", LOAD("ld", p, 7), 0x98badcfeefcdab89ul);

  rt_section("stores write only their width");
  static unsigned char st[32] __attribute__((aligned(16)));
  unsigned char *s = st;
  memset(st, 0xaa, sizeof st);
  STORE("sb", 0x1122334455667788ul, s, 0);
  STORE("sh", 0x1122334455667788ul, s, 2);
  STORE("sw", 0x1122334455667788ul, s, 4);
  STORE("sd", 0x1122334455667788ul, s, 8);
  rt_check_u64("sb sh sw: bytes 0..7", word_at(st), 0x556677887788aa88ul);
  rt_check_u64("sd: bytes 8..15", word_at(st + 8), 0x1122334455667788ul);
  rt_check_u64("bytes 16..23 untouched", word_at(st + 16), 0xaaaaaaaaaaaaaaaaul);
  STORE("sd", 0x0102030405060708ul, (u64)s + 2048 + 16, -2048);
  rt_check_u64("sd offset -2048", word_at(st + 16), 0x0102030405060708ul);

  rt_section("misaligned stores");
  memset(st, 0, sizeof st);
  STORE("sh", 0xbeef, s, 1);
  STORE("sw", 0xcafef00d, s, 5);
  STORE("sd", 0x0123456789abcdeful, s, 11);
  STORE("sd", 0xfedcba9876543210ul, s, 23);
  rt_check_u64("bytes 0..7", word_at(st), 0xfef00d0000beef00ul);
  rt_check_u64("bytes 8..15", word_at(st + 8), 0x6789abcdef0000caul);
  rt_check_u64("bytes 16..23", word_at(st + 16), 0x1000000000012345ul);
  rt_check_u64("bytes 24..31", word_at(st + 24), 0x00fedcba98765432ul);
}

/* A misaligned access that straddles two pages. */
static unsigned char pages[8192] __attribute__((aligned(4096)));

static void across_page(void) {
  unsigned char *p = pages + 4096 - 3;
  rt_section("misaligned across a page boundary");
  STORE("sd", 0x8877665544332211ul, p, 0);
  rt_check_u64("page0 last 3 bytes, page1 first 5", word_at(pages + 4088), 0x3322110000000000ul);
  rt_check_u64("page1 first 8 bytes", word_at(pages + 4096), 0x0000008877665544ul);
  rt_check_u64("ld across the boundary", LOAD("ld", p, 0), 0x8877665544332211ul);
  rt_check_u64("lw across the boundary", LOAD("lw", p, 1), 0x55443322);
  rt_check_u64("lh across the boundary", LOAD("lh", p, 2), 0x4433);
  STORE("sw", 0xffffffff, p, 1);
  rt_check_u64("sw across the boundary", LOAD("ld", p, 0), 0x887766ffffffff11ul);
}

static void zero_register(void) {
  u64 r;
  rt_section("x0 is hard-wired to zero");
  __asm__ volatile(NORVC "li t0, 5\n add x0, t0, t0\n mv %0, x0" POPRVC : "=r"(r) :: "t0");
  rt_check_u64("add x0", r, 0);
  __asm__ volatile(NORVC "lui x0, 0x12345\n addi %0, x0, 0" POPRVC : "=r"(r));
  rt_check_u64("lui x0", r, 0);
  __asm__ volatile(NORVC "ld x0, 0(%1)\n add %0, x0, x0" POPRVC : "=r"(r) : "r"(mem));
  rt_check_u64("ld x0", r, 0);
  __asm__ volatile(NORVC "jal x0, 1f\n1: sltu %0, x0, x0" POPRVC : "=r"(r));
  rt_check_u64("jal x0", r, 0);
  __asm__ volatile(NORVC "li %0, 7\n sll %0, %0, x0" POPRVC : "=r"(r));
  rt_check_u64("sll by x0", r, 7);
}

static void fences(void) {
  u64 r;
  rt_section("fence fence.i");
  __asm__ volatile(NORVC "li %0, 1\n fence\n fence rw, rw\n fence r, w\n fence.tso\n fence.i\n addi %0, %0, 1" POPRVC : "=r"(r) :: "memory");
  rt_check_u64("fences execute as no-ops", r, 2);
}

int main(void) {
  arith();
  shifts();
  wforms();
  compares();
  upper();
  branches();
  jumps();
  loads_stores();
  across_page();
  zero_register();
  fences();
  return rt_done();
}
