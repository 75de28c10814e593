/** Seats left, with sold out stated in words (not only by colour). */
export function Seats({ left, total }: { left: number; total: number }) {
  if (left <= 0) {
    return (
      <span class="seats sold-out" data-testid="seats">
        Sold out
      </span>
    );
  }
  return (
    <span class="seats" data-testid="seats">
      <strong>{left}</strong> of {total} {total === 1 ? 'seat' : 'seats'} left
    </span>
  );
}
