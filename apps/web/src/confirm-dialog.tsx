import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

interface ConfirmDialogProps {
  title: string;
  children: ComponentChildren;
  /** The button that goes ahead, e.g. "Cancel booking". */
  confirmLabel: string;
  /** The button that backs out, focused first so that Enter never destroys anything by accident. */
  keepLabel: string;
  onConfirm: () => void;
  /** Called when the dialog closes, whichever way. */
  onClose: () => void;
}

/**
 * Asks before a destructive action. The browser's own modal `<dialog>`: it
 * traps focus, closes on Escape, hides the page behind it from screen readers
 * and gives focus back to the button that opened it.
 */
export function ConfirmDialog({ title, children, confirmLabel, keepLabel, onConfirm, onClose }: ConfirmDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => dialog.current?.showModal(), []);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-text`}
      onClose={() => {
        if (dialog.current?.returnValue === 'confirm') onConfirm();
        onClose();
      }}
    >
      <h2 id={`${id}-title`}>{title}</h2>
      <div id={`${id}-text`}>{children}</div>
      {/* method="dialog": a button closes the dialog with its value as returnValue. */}
      <form method="dialog" class="actions">
        <button type="submit" value="keep" autofocus>
          {keepLabel}
        </button>
        <button type="submit" value="confirm" class="danger">
          {confirmLabel}
        </button>
      </form>
    </dialog>
  );
}
